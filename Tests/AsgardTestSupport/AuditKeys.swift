public import AsgardCore
import Foundation

/// The audit key of the stores tests open in-process, and (as `ASGARD_AUDIT_KEY`, see
/// `testAuditEnvironment`) of every `asgard` process they run, so both open the same stores.
public let testAuditKeyHex = "32eae3802a82d9cff1d08b26ba825ef98eea262222c1bb853b13e98fdf3efd67"

/// `testAuditKeyHex` as a key.
public let testAuditKey: AuditKey = {
    do {
        return try AuditKey(hex: testAuditKeyHex, source: "testAuditKeyHex")
    } catch {
        fatalError("the tests' audit key is unusable: \(error)")
    }
}()

/// Another valid key: the wrong one.
public let otherAuditKey: AuditKey = {
    do {
        return try AuditKey(hex: AuditKey.generateHex(), source: "otherAuditKey")
    } catch {
        fatalError("a generated audit key is unusable: \(error)")
    }
}()

/// What an `asgard` process run by a test needs besides its own variables: the tests' audit key,
/// and a key directory of its own, so that no test ever reads or writes a key in the real home.
public let testAuditEnvironment: [String: String] = [
    "ASGARD_AUDIT_KEY": testAuditKeyHex,
    "ASGARD_KEY_DIR": NSTemporaryDirectory() + "asgard-test-keys-\(getpid())",
]
