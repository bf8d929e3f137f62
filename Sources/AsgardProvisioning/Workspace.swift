import AsgardCore
import AsgardJSON
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The directory of one resource's terraform workspace, `<data>/terraform/<Kind>/<id>/`, and
/// the files in it:
///
/// - `main.tf.json`: the generated root configuration;
/// - `asgard-workspace.json`: which object it is, its module and the *names* of the vendor
///   variables it needs (so `destroy(ref)` works after the object left desired state);
/// - `.asgard.lock`: held during a pass;
/// - `plans/<digest>.tfplan` and `plans/<digest>.prior`: saved plans and the state each was made against;
/// - `terraform.tfstate`, `.terraform/`: terraform's own.
struct Workspace: Sendable, Hashable {
    let directory: String

    /// The workspace of `ref` under `dataDirectory`.
    init(_ ref: ObjectRef, dataDirectory: String) throws(TerraformError) {
        let id = ref.id
        guard !id.isEmpty, id != ".", id != "..", !id.contains("/"), !id.contains("\0") else {
            throw .invalidReference("\(ref) has an id that is not a single path component")
        }
        directory = "\(Self.root(dataDirectory: dataDirectory))/\(ref.kind.rawValue)/\(id)"
    }

    /// Where all workspaces live.
    static func root(dataDirectory: String) -> String { dataDirectory + "/terraform" }

    /// terraform's `HOME`: one directory for every workspace, so no user's dotfiles are read.
    static func home(dataDirectory: String) -> String { root(dataDirectory: dataDirectory) + "/.home" }

    var rootConfiguration: String { directory + "/main.tf.json" }
    var record: String { directory + "/asgard-workspace.json" }
    var lock: String { directory + "/.asgard.lock" }
    var plans: String { directory + "/plans" }
    var state: String { directory + "/terraform.tfstate" }
    var providerDirectory: String { directory + "/.terraform" }

    /// The saved plan of `digest`, relative to the workspace (as terraform is given it).
    static func planFile(_ digest: String) -> String { "plans/\(digest).tfplan" }
    /// The prior-state record of `digest`, relative to the workspace.
    static func priorFile(_ digest: String) -> String { "plans/\(digest).prior" }

    func path(_ relative: String) -> String { directory + "/" + relative }

    /// Whether `text` can be a plan digest: 64 lower-case hex digits (so it can never name
    /// another file).
    static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

/// `asgard-workspace.json`: which object a workspace provisions and which environment variable
/// names (never values) its commands need.
struct WorkspaceRecord: Sendable, Hashable {
    var ref: ObjectRef
    var project: String
    var module: String
    var environmentNames: [String]

    var json: JSONValue {
        .object([
            JSONMember(key: "environment", value: .array(environmentNames.sorted().map(JSONValue.string))),
            JSONMember(key: "id", value: .string(ref.id)),
            JSONMember(key: "kind", value: .string(ref.kind.rawValue)),
            JSONMember(key: "module", value: .string(module)),
            JSONMember(key: "project", value: .string(project)),
        ])
    }

    init(ref: ObjectRef, project: String, module: String, environmentNames: [String]) {
        self.ref = ref
        self.project = project
        self.module = module
        self.environmentNames = environmentNames
    }

    /// The record in `bytes` read from `path`.
    init(bytes: [UInt8], path: String) throws(TerraformError) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw .invalidState(path: path, reason: error.description)
        }
        guard case .string(let kindName)? = document["kind"], let kind = ObjectKind(rawValue: kindName),
            case .string(let id)? = document["id"], case .string(let project)? = document["project"],
            case .string(let module)? = document["module"], case .array(let names)? = document["environment"]
        else {
            throw .invalidState(path: path, reason: "expected kind, id, project, module and environment")
        }
        var environmentNames: [String] = []
        for case .string(let name) in names { environmentNames.append(name) }
        self.init(ref: ObjectRef(kind, id), project: project, module: module, environmentNames: environmentNames)
    }
}

/// The few file operations the connector needs, with its errors.
///
/// Workspaces hold plans and state, which may carry whatever a provider reads back: directories
/// the connector creates are 0700 and the files it writes, and terraform's state and plan files
/// after every step, are 0600, whatever the process's umask.
enum WorkspaceFiles {
    /// Creates `path` and its missing parents with mode 0700 (an existing directory keeps its mode).
    static func makeDirectory(_ path: String) throws(TerraformError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .fileSystem(operation: "create the directory", path: path, reason: error.localizedDescription)
        }
    }

    /// Replaces `path` with `text` atomically (a temporary file renamed over it), mode 0600.
    static func write(_ text: String, to path: String) throws(TerraformError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .fileSystem(operation: "write", path: path, reason: error.localizedDescription)
        }
        guard chmod(path, 0o600) == 0 else {
            throw .fileSystem(operation: "restrict the permissions of", path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Takes group and other permissions away from terraform's files in `workspace`: the state,
    /// its backup and every saved plan (terraform creates them with its umask's mode).
    static func restrictTerraformFiles(in workspace: String) {
        let plans = workspace + "/plans"
        let files = ["terraform.tfstate", "terraform.tfstate.backup"].map { workspace + "/" + $0 } + list(plans).map { plans + "/" + $0 }
        for file in files {
            var status = stat()
            guard lstat(file, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_mode & 0o077 != 0 else { continue }
            _ = chmod(file, 0o600)
        }
    }

    /// The bytes of `path`; nil when there is no such file.
    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map(Array.init)
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Moves `source` over `destination` (atomic within one file system).
    static func move(_ source: String, to destination: String) throws(TerraformError) {
        guard rename(source, destination) == 0 else {
            throw .fileSystem(operation: "rename \(source) to", path: destination, reason: String(cString: strerror(errno)))
        }
    }

    /// Removes `path` (a file or a whole directory); a missing path is fine.
    static func remove(_ path: String) throws(TerraformError) {
        guard exists(path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw .fileSystem(operation: "remove", path: path, reason: error.localizedDescription)
        }
    }

    /// A new, empty, private directory `<base>/asgard-tf-XXXXXX`.
    static func makeTemporaryDirectory(in base: String) throws(TerraformError) -> String {
        var template = Array("\(base)/asgard-tf-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let made else {
            throw .fileSystem(operation: "create a temporary directory in", path: base, reason: String(cString: strerror(errno)))
        }
        return made
    }

    /// The names in directory `path` (none if it does not exist).
    static func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}
