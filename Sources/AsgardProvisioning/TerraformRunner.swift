import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one terraform command printed and how it ended. The text is already scrubbed.
struct StepOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Whether stdout was longer than the runner keeps.
    var stdoutTruncated: Bool

    /// The end of what the command printed, for an error message: stderr's last lines, then
    /// stdout's (local-exec and provider messages land there).
    var tail: String {
        let parts = [Self.lastLines(stderr), Self.lastLines(stdout)].filter { !$0.isEmpty }
        return parts.joined(separator: "\n")
    }

    static func lastLines(_ text: String, lines: Int = 30, characters: Int = 3000) -> String {
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        let trimmed = kept.trimmingWhitespace
        return trimmed.count > characters ? "…" + String(trimmed.suffix(characters)) : trimmed
    }
}

/// Runs one terraform command the way the connector needs every command run:
///
/// - in its own process group (so `local-exec` children can be signalled with it),
/// - with exactly the environment given (nothing inherited),
/// - with stdout and stderr captured up to a bound and scrubbed before anything reads them,
/// - under a deadline: on expiry the whole group gets SIGTERM, then SIGKILL after the grace,
///   and `timedOut` is thrown. Cancelling the calling task tears the group down the same way.
struct TerraformRunner: Sendable {
    var binary: String
    var timeout: Duration
    var grace: Duration
    /// The most of stdout kept (plans of thousands of resources stay far below it).
    var stdoutLimit = 64 << 20
    /// The most of stderr kept (its end).
    var stderrLimit = 1 << 20

    /// Runs `terraform <arguments>` in `directory`; returns how it ended (any exit status).
    func run(
        _ step: TerraformStep, _ arguments: [String], in directory: String, environment: [String: String],
        redactor: Redactor
    ) async throws(TerraformError) -> StepOutput {
        var options = PlatformOptions()
        options.processGroupID = 0  // a new group whose id is the child's pid
        options.teardownSequence = [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: grace)]
        var variables: [Environment.Key: String] = [:]
        for (name, value) in environment {
            if let key = Environment.Key(rawValue: name) { variables[key] = value }
        }
        let collected: Collected
        let status: TerminationStatus
        do {
            let result = try await Subprocess.run(
                .path(FilePath(binary)), arguments: Arguments(arguments), environment: .custom(variables),
                workingDirectory: FilePath(directory), platformOptions: options,
                input: .none, output: .sequence, error: .sequence
            ) { execution in
                await collect(execution)
            }
            collected = result.closureResult
            status = result.terminationStatus
        } catch {
            if Task.isCancelled { throw .cancelled(step: step) }
            throw .launchFailed(step: step, reason: redactor.scrub("\(error)"))
        }
        if collected.timedOut { throw .timedOut(step: step, after: timeout) }
        let output = StepOutput(
            status: 0, stdout: redactor.scrub(collected.stdout.text),
            stderr: redactor.scrub(collected.stderr.text), stdoutTruncated: collected.stdout.isTruncated)
        switch status {
        case .exited(let code):
            // terraform stops gracefully on the teardown's SIGTERM and exits non-zero.
            if code != 0, Task.isCancelled { throw .cancelled(step: step) }
            var ended = output
            ended.status = code
            return ended
        case .signaled(let signal):
            // Cancellation tears the group down through `teardownSequence`.
            if Task.isCancelled { throw .cancelled(step: step) }
            throw .killed(step: step, signal: signal)
        }
    }

    /// Both streams, and whether the deadline passed before they ended.
    struct Collected: Sendable {
        var stdout: BoundedCapture
        var stderr: BoundedCapture
        var timedOut: Bool
    }

    private enum Event: Sendable {
        case stdout(BoundedCapture)
        case stderr(BoundedCapture)
        case deadline
        case deadlineCancelled
    }

    /// Drains stdout and stderr while a timer runs. The streams end when every process holding
    /// them (terraform, and any child it left running) has exited; if the timer fires first,
    /// the process group is terminated, which ends them.
    private func collect(_ execution: Execution<NoInput, SequenceOutput, SequenceOutput>) async -> Collected {
        let stdoutLimit = stdoutLimit
        let stderrLimit = stderrLimit
        let timeout = timeout
        let grace = grace
        return await withTaskGroup(of: Event.self) { group in
            group.addTask { .stdout(await Self.drain(execution.standardOutput, limit: stdoutLimit)) }
            group.addTask { .stderr(await Self.drain(execution.standardError, limit: stderrLimit)) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .deadline
                } catch {
                    return .deadlineCancelled
                }
            }
            var stdout: BoundedCapture?
            var stderr: BoundedCapture?
            var timedOut = false
            while let event = await group.next() {
                switch event {
                case .stdout(let capture): stdout = capture
                case .stderr(let capture): stderr = capture
                case .deadlineCancelled: break
                case .deadline:
                    timedOut = true
                    await execution.teardown(using: [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: grace)])
                    // terraform itself may have exited on SIGTERM while a child lingers: the whole group goes.
                    _ = kill(-execution.processIdentifier.value, SIGKILL)
                }
                if stdout != nil, stderr != nil {
                    group.cancelAll()
                }
            }
            return Collected(
                stdout: stdout ?? BoundedCapture(limit: stdoutLimit),
                stderr: stderr ?? BoundedCapture(limit: stderrLimit), timedOut: timedOut)
        }
    }

    /// Reads a stream to its end into a bounded capture. A read error ends the capture with
    /// what was read so far.
    private static func drain(_ stream: SubprocessOutputSequence, limit: Int) async -> BoundedCapture {
        var capture = BoundedCapture(limit: limit)
        do {
            for try await chunk in stream {
                chunk.withUnsafeBytes { capture.append($0) }
            }
        } catch {
            // Cancellation or a closed pipe: keep what arrived.
        }
        return capture
    }
}
