import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files only their owner may read: the store and its write-ahead log, the call journal, the
/// audit key. Directories Asgard creates are 0700 and files 0600, whatever the umask (which
/// `asgard` also sets to 077 at start, for what other code and terraform create).
enum PrivateFiles {
    /// Permissions of a directory Asgard creates.
    static let directoryMode: mode_t = 0o700
    /// Permissions of a file Asgard creates.
    static let fileMode: mode_t = 0o600

    /// Creates `path` and any missing parents with mode 0700. An existing directory is left as it
    /// is: it may be shared (`--data-dir /tmp`), and the files in it are private anyway.
    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(directoryMode)])
    }

    /// Prepares the database file `path` before SQLite opens it: creates its directory (0700)
    /// and the file itself, empty, with mode 0600 (an empty file is an empty database), so SQLite,
    /// which gives its `-wal` and `-shm` files the database file's mode, creates those 0600 too.
    /// An existing database, `-wal` or `-shm` readable by group or others is restricted to 0600.
    static func prepareDatabase(_ path: String) throws {
        try makeDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        if descriptor >= 0 {
            _ = close(descriptor)
        } else if errno != EEXIST {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        for file in [path, path + "-wal", path + "-shm"] { restrict(file) }
    }

    /// Takes group and other permissions away from an existing file of Asgard's; a missing file
    /// is fine. Best effort: a file it cannot change (not its owner's) is reported by whatever
    /// opens it next, not here.
    static func restrict(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { return }
        _ = chmod(path, fileMode)
    }
}
