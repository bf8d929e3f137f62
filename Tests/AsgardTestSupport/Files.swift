public import Foundation

/// The package root, found from this file's path (tests run from any directory).
public let packageRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A fresh, empty temporary directory.
public func makeTemporaryDirectory(_ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "asgard-\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Copies the shipped `desired/` into `directory/desired` and returns that path. Its people's
/// credentials are `personSecret(email)`'s digests, so a test can act as any of them.
public func copyShippedDesired(into directory: String) throws -> String {
    let target = directory + "/desired"
    try FileManager.default.copyItem(atPath: packageRoot + "/desired", toPath: target)
    try useTestCredentials(in: target)
    return target
}

/// Every file below `root` with its size and SHA-256-free fingerprint (modification time and
/// bytes), so a test can prove a command left no trace at all.
public func snapshot(_ root: String) throws -> [String: Data] {
    var result: [String: Data] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return result }
    while let relative = enumerator.nextObject() as? String {
        let path = root + "/" + relative
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        var fingerprint = Data("\(attributes[.type] ?? "") \(modified)\n".utf8)
        if (attributes[.type] as? FileAttributeType) == .typeRegular {
            fingerprint.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        result[relative] = fingerprint
    }
    return result
}

/// The names of the example directories under `examples/broken/`, sorted.
public let brokenExamples: [String] = {
    let directory = packageRoot + "/examples/broken"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { name in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue
    }.sorted()
}()
