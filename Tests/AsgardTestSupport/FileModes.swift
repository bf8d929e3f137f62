public import Foundation

/// The permission bits of `path` (`0o600`, say), following symbolic links; nil when there is no such file.
public func permissions(of path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
}

/// `0o644` as `0644`, for messages.
public func octal(_ mode: Int?) -> String {
    mode.map { "0" + String($0, radix: 8) } ?? "missing"
}
