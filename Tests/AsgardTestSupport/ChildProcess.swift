public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`: the part of Foundation's `Process` that the tests
/// use, without Foundation's Linux launch path. That path lists /proc/self/fd to find the highest
/// open descriptor and copies each entry's whole 256-byte `d_name`, reading past glibc's buffer;
/// in a process with over a thousand descriptors open it crashes now and then
/// (swift-corelibs-foundation PR 5472, after Swift 6.3.1). The test process, with its servers,
/// databases and connections, reaches 1,400 descriptors, and a fresh-clone CI run died of it.
///
/// The child gets the given standard streams, every other descriptor closed, an empty signal mask
/// and default signal dispositions. Waiting never reaps another child: it waits on this pid only.
public final class ChildProcess: @unchecked Sendable {
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public var executableURL: URL?
    public var arguments: [String] = []
    /// The child's environment; `nil` passes on this process's own.
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    /// Each a `FileHandle` or a `Pipe`, as for `Process`; `nil` inherits this process's.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let lock = NSLock()
    private var pid: pid_t = 0
    /// The raw wait status, once the child has been reaped.
    private var waitStatus: Int32?

    public init() {}

    public var processIdentifier: Int32 { lock.withLock { pid } }

    public func run() throws {
        guard let executable = executableURL?.path else { throw SpawnFailure(description: "no executable to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target) in [(standardInput, Int32(0)), (standardOutput, 1), (standardError, 2)] {
            guard let descriptor = Self.descriptor(of: stream, forWriting: target != 0) else { continue }
            // Foundation's `FileHandle.nullDevice` has no descriptor of its own (-1).
            if descriptor < 0 {
                try check(posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0), "open /dev/null as \(target)")
            } else {
                try check(posix_spawn_file_actions_adddup2(&actions, descriptor, target), "redirect descriptor \(target)")
            }
        }
        try check(Self.addCloseFrom(&actions, 3), "close the other descriptors")
        if let directory = currentDirectoryURL?.path {
            try check(Self.addChdir(&actions, directory), "change to \(directory)")
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        try check(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)), "set the signal attributes")

        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var child: pid_t = 0
        let status = try withCStrings([executable] + arguments) { argv in
            try withCStrings(environment) { envp in posix_spawn(&child, executable, &actions, &attributes, argv, envp) }
        }
        try check(status, "start \(executable)")
        lock.withLock { pid = child }
        // The child has its copies; the parent's ends of pipes meant for the child are closed, so
        // the reader of an output pipe sees its end when the child exits.
        for (stream, forWriting) in [(standardInput, false), (standardOutput, true), (standardError, true)] {
            if let pipe = stream as? Pipe { try? (forWriting ? pipe.fileHandleForWriting : pipe.fileHandleForReading).close() }
        }
    }

    /// Blocks the calling thread until the child exits.
    public func waitUntilExit() {
        let child = processIdentifier
        precondition(child > 0, "waitUntilExit before run")
        var info = siginfo_t()
        // Waits without reaping, so that concurrent `isRunning` and `waitUntilExit` calls agree.
        while waitid(P_PID, id_t(child), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        _ = reap(blocking: true)
    }

    /// Waits for the child's exit on a thread of its own, never blocking a cooperative thread.
    public func exited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                self.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }

    public var isRunning: Bool { processIdentifier > 0 && !reap(blocking: false) }

    /// Sends SIGTERM, unless the child has already been reaped.
    public func terminate() { send(signal: SIGTERM) }

    public func send(signal number: Int32) {
        lock.withLock {
            if pid > 0, waitStatus == nil { _ = kill(pid, number) }
        }
    }

    /// The exit code, or the signal number if a signal ended it.
    public var terminationStatus: Int32 {
        guard let status = lock.withLock({ waitStatus }) else { preconditionFailure("the child has not exited") }
        return Self.signalled(status) ? status & 0x7f : (status >> 8) & 0xff
    }

    public var terminationReason: TerminationReason {
        guard let status = lock.withLock({ waitStatus }) else { preconditionFailure("the child has not exited") }
        return Self.signalled(status) ? .uncaughtSignal : .exit
    }

    /// Reaps the child if it has exited; whether it has.
    private func reap(blocking: Bool) -> Bool {
        lock.withLock {
            if waitStatus != nil { return true }
            var status: Int32 = 0
            while true {
                let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
                if result == pid {
                    waitStatus = status
                    return true
                }
                if result == -1 && errno == EINTR { continue }
                return false
            }
        }
    }

    private static func signalled(_ status: Int32) -> Bool { (status & 0x7f) != 0 && (status & 0x7f) != 0x7f }

    private static func descriptor(of stream: Any?, forWriting: Bool) -> Int32? {
        switch stream {
        case let handle as FileHandle: handle.fileDescriptor
        case let pipe as Pipe: (forWriting ? pipe.fileHandleForWriting : pipe.fileHandleForReading).fileDescriptor
        default: nil
        }
    }

    private func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw SpawnFailure(description: "cannot \(what): \(String(cString: strerror(status)))") }
    }

    // glibc has both (2.29, 2.34); Swift's Glibc module does not declare them (they need _GNU_SOURCE).
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private static let addChdir: AddChdir = glibc("posix_spawn_file_actions_addchdir_np")
    private static let addCloseFrom: AddCloseFrom = glibc("posix_spawn_file_actions_addclosefrom_np")

    private static func glibc<F>(_ name: String) -> F {
        guard let symbol = dlsym(nil, name) else { fatalError("glibc has no \(name) (it needs glibc 2.34 or later)") }
        return unsafeBitCast(symbol, to: F.self)
    }
}

public struct SpawnFailure: Error, CustomStringConvertible {
    public var description: String
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) throws -> R) rethrows -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return try body(pointers)
}
