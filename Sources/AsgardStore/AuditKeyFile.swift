public import AsgardCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the audit key comes from: `ASGARD_AUDIT_KEY`, else the key file `audit.key` in the key
/// directory, created with a fresh random key at first start.
///
/// The key directory is `ASGARD_KEY_DIR`, else `$XDG_CONFIG_HOME/asgard`, else
/// `$HOME/.config/asgard`: outside the data directory on purpose, since whoever can edit the
/// store must not be able to read the key (a key directory inside the data directory is refused).
/// Like ssh with a private key, a key file that group or others may read or write, that belongs
/// to another user, or that sits in a directory group or others may write is refused.
public enum AuditKeyFile {
    /// The key file's name in the key directory.
    public static let fileName = "audit.key"
    /// The largest key file read (a key is 64 hex digits and a line break).
    static let maximumFileBytes = 4_096

    /// A key and where it came from (never the key's text).
    public struct Loaded: Sendable {
        public var key: AuditKey
        /// `ASGARD_AUDIT_KEY`, or the key file's path.
        public var source: String
        /// Whether the key file was created by this call.
        public var created: Bool
    }

    /// The key directory `environment` names: `ASGARD_KEY_DIR`, else `$XDG_CONFIG_HOME/asgard`
    /// (when absolute), else `$HOME/.config/asgard`. Empty variables count as unset.
    /// - Throws: `AuditKeyError.noLocation` when none is set.
    public static func directory(environment: [String: String]) throws(AuditKeyError) -> String {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let directory = value("ASGARD_KEY_DIR") { return directory }
        if let config = value("XDG_CONFIG_HOME"), config.hasPrefix("/") { return config + "/asgard" }
        if let home = value("HOME") { return home + "/.config/asgard" }
        throw .noLocation
    }

    /// The audit key: `ASGARD_AUDIT_KEY` when set (and not empty), else the key file, which is
    /// created when missing and `create` is true (commands that write the store; reading
    /// commands never create a key).
    ///
    /// A new key file holds 32 random bytes as 64 hex digits and a line break, mode 0600, in a
    /// directory created 0700. It is written under a temporary name and linked into place, so a
    /// concurrent first start reads the same complete key instead of making a second.
    ///
    /// - Parameters:
    ///   - environment: read for `ASGARD_AUDIT_KEY`, `ASGARD_KEY_DIR`, `XDG_CONFIG_HOME`, `HOME`.
    ///   - dataDirectory: the store's directory, which the key directory must not be inside.
    /// - Throws: `AuditKeyError`: a malformed key, a missing file (`create` false), a file or
    ///   directory too open or another user's, a key directory inside the data directory, or
    ///   a file-system error. No error contains the key.
    public static func load(environment: [String: String], dataDirectory: String, create: Bool) throws(AuditKeyError) -> Loaded {
        if let text = environment["ASGARD_AUDIT_KEY"], !text.isEmpty {
            return Loaded(key: try AuditKey(hex: text, source: "ASGARD_AUDIT_KEY"), source: "ASGARD_AUDIT_KEY", created: false)
        }
        let directory = try directory(environment: environment)
        let keyDirectory = canonical(directory)
        let data = canonical(dataDirectory)
        if keyDirectory == data || keyDirectory.hasPrefix(data.hasSuffix("/") ? data : data + "/") {
            throw .insideDataDirectory(keyDirectory: directory, dataDirectory: dataDirectory)
        }
        let path = directory + "/" + fileName
        if let key = try read(path, directory: directory) { return Loaded(key: key, source: path, created: false) }
        guard create else { throw .missing(path: path) }
        if try createFile(holding: AuditKey.generateHex(), at: path, directory: directory) {
            guard let key = try read(path, directory: directory) else { throw .missing(path: path) }
            return Loaded(key: key, source: path, created: true)
        }
        // Another process created it first: use that one.
        guard let key = try read(path, directory: directory) else { throw .missing(path: path) }
        return Loaded(key: key, source: path, created: false)
    }

    /// The key in `path`, or nil when there is no such file; refuses a file or directory that is
    /// too open or not the user's.
    private static func read(_ path: String, directory: String) throws(AuditKeyError) -> AuditKey? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw .fileSystem(operation: "read", path: path, reason: String(cString: strerror(errno)))
        }
        try checkDirectory(directory)
        guard status.st_mode & S_IFMT == S_IFREG else { throw .fileSystem(operation: "read", path: path, reason: "not a regular file") }
        guard status.st_uid == geteuid() else { throw .notOwned(path: path, owner: UInt32(status.st_uid)) }
        guard status.st_mode & 0o077 == 0 else { throw .exposed(path: path, mode: UInt16(status.st_mode & 0o7777)) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .fileSystem(operation: "read", path: path, reason: String(cString: strerror(errno)))
        }
        defer { try? handle.close() }
        let bytes: Data
        do {
            bytes = try handle.read(upToCount: maximumFileBytes + 1) ?? Data()
        } catch {
            throw .fileSystem(operation: "read", path: path, reason: "\(error.localizedDescription)")
        }
        guard bytes.count <= maximumFileBytes else { throw .malformed(source: path, reason: "the file is larger than a key") }
        guard let text = String(data: bytes, encoding: .utf8) else { throw .malformed(source: path, reason: "it must be hexadecimal digits only") }
        return try AuditKey(hex: text, source: path)
    }

    /// Refuses a key directory that group or others may write: they could swap the key.
    private static func checkDirectory(_ directory: String) throws(AuditKeyError) {
        var status = stat()
        guard stat(directory, &status) == 0 else { return }
        guard status.st_mode & 0o022 == 0 else { throw .writableDirectory(path: directory, mode: UInt16(status.st_mode & 0o7777)) }
    }

    /// Writes `hex` to a new file and links it to `path`; false when `path` already exists.
    private static func createFile(holding hex: String, at path: String, directory: String) throws(AuditKeyError) -> Bool {
        do {
            try PrivateFiles.makeDirectory(directory)
        } catch {
            throw .fileSystem(operation: "create the directory of", path: path, reason: "\(error.localizedDescription)")
        }
        try checkDirectory(directory)
        let temporary = "\(directory)/.\(fileName).\(getpid()).\(UInt32.random(in: .min ... .max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, PrivateFiles.fileMode)
        guard descriptor >= 0 else { throw .fileSystem(operation: "create", path: temporary, reason: String(cString: strerror(errno))) }
        defer { _ = unlink(temporary) }
        let bytes = Array((hex + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        var failure: String? = written == bytes.count ? nil : written < 0 ? String(cString: strerror(errno)) : "short write"
        if failure == nil, fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        _ = close(descriptor)
        if let failure { throw .fileSystem(operation: "write", path: temporary, reason: failure) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw .fileSystem(operation: "create", path: path, reason: String(cString: strerror(errno)))
        }
        return true
    }

    /// `path` absolute, with `.`, `..` and symbolic links of its existing part resolved.
    private static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
