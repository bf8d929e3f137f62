import Foundation

/// The outcome of loading a desired-state directory: the state, and every problem found.
public struct LoadResult: Sendable {
    /// The objects that decoded; only trustworthy when `diagnostics` is empty.
    public var state: DesiredState
    public var files: Int
    /// Every problem, in file order.
    public var diagnostics: [Diagnostic]
    /// Where each object's document is: its file (relative to the directory) and position.
    public var origins: [ObjectRef: ObjectOrigin] = [:]

    public var isValid: Bool { diagnostics.isEmpty }

    public init(state: DesiredState, files: Int, diagnostics: [Diagnostic], origins: [ObjectRef: ObjectOrigin] = [:]) {
        self.state = state
        self.files = files
        self.diagnostics = diagnostics
        self.origins = origins
    }
}

/// Where an object's document is in the desired-state directory.
public struct ObjectOrigin: Sendable, Hashable {
    /// The file, relative to the directory (`resources/fraud.yaml`).
    public var relative: String
    /// The document's position, as diagnostics name it.
    public var location: SourceLocation
}

/// Loads `desired/`: walks it, reads each `*.yaml`/`*.yml` file within the limits, parses,
/// decodes strictly and validates the whole, reporting every problem at once.
///
/// Hidden files and directories (leading `.`) and other extensions are ignored. Symbolic
/// links are followed only to files inside the directory.
public struct DesiredStateLoader: Sendable {
    public var limits: LoadLimits

    public init(limits: LoadLimits = LoadLimits()) { self.limits = limits }

    /// Loads the directory at `path`, naming files in diagnostics as `path/relative`.
    public func load(directory path: String) -> LoadResult {
        let (sources, files, problems) = read(directory: path)
        if files < 0 { return LoadResult(state: DesiredState(), files: 0, diagnostics: problems) }
        var result = load(sources)
        result.files = files
        result.diagnostics = (problems + result.diagnostics).sorted(by: Diagnostic.inFileOrder)
        return result
    }

    /// The directory's files as sources (what `load(directory:)` loads), how many there are
    /// (-1 when the directory itself cannot be read), and the problems reading them.
    public func read(directory path: String) -> (sources: [SourceFile], files: Int, problems: [Diagnostic]) {
        let display = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        var diagnostics: [Diagnostic] = []
        let rootProblem = { (message: String) in
            ([SourceFile](), -1, [Diagnostic(SourceLocation(file: display, line: 1, column: 1), message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return rootProblem("no such directory")
        }
        guard isDirectory.boolValue else { return rootProblem("not a directory") }
        let root = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path

        let files: [String]
        do {
            files = try yamlFiles(under: root, display: display, diagnostics: &diagnostics)
        } catch {
            return rootProblem("cannot list the directory: \(error.localizedDescription)")
        }
        var sources: [SourceFile] = []
        for relative in files {
            let file = "\(display)/\(relative)"
            guard let bytes = readBytes(root + "/" + relative, file: file, diagnostics: &diagnostics) else { continue }
            sources.append(SourceFile(name: file, relative: relative, bytes: bytes))
        }
        return (sources, files.count, diagnostics)
    }

    /// Loads desired state from file contents already in memory: the pure part of loading,
    /// used by `load(directory:)` and directly by tests and fuzzing.
    public func load(_ sources: [SourceFile]) -> LoadResult {
        var diagnostics: [Diagnostic] = []
        var documents: [(file: String, relative: String, node: YAMLNode)] = []
        let reader = YAMLReader(limits: limits)
        for source in sources {
            guard let text = decodeText(source.bytes, file: source.name, diagnostics: &diagnostics) else { continue }
            do {
                for node in try reader.documents(text) { documents.append((source.name, source.relative, node)) }
            } catch {
                diagnostics.append(Diagnostic(SourceLocation(file: source.name, line: error.line, column: error.column), error.message))
            }
        }

        var loaded: [LoadedObject] = []
        for (file, relative, node) in documents {
            guard loaded.count < limits.maxObjects else {
                diagnostics.append(
                    Diagnostic(
                        SourceLocation(file: file, line: node.line, column: node.column),
                        "more than \(limits.maxObjects) objects in desired state"))
                break
            }
            let context = DecodeContext(file: file)
            let object = decodeObject(node, context: context)
            reportSecrets(in: node, context: context)
            diagnostics += context.diagnostics
            if let object { loaded.append(LoadedObject(object: object, file: file, relative: relative, document: node, context: context.object)) }
        }
        let (state, crossDiagnostics) = crossValidate(loaded)
        var origins: [ObjectRef: ObjectOrigin] = [:]
        for object in loaded { origins[object.object.ref] = ObjectOrigin(relative: object.relative, location: object.location) }
        return LoadResult(
            state: state, files: sources.count,
            diagnostics: (diagnostics + crossDiagnostics).sorted(by: Diagnostic.inFileOrder), origins: origins)
    }

    /// Relative paths of the YAML files to read, sorted; refuses links leaving the root.
    private func yamlFiles(under root: String, display: String, diagnostics: inout [Diagnostic]) throws -> [String] {
        let manager = FileManager.default
        var found: [String] = []
        var pending = [""]
        while let directory = pending.popLast() {
            let absolute = directory.isEmpty ? root : root + "/" + directory
            for name in try manager.contentsOfDirectory(atPath: absolute).sorted() where !name.hasPrefix(".") {
                let relative = directory.isEmpty ? name : directory + "/" + name
                let full = root + "/" + relative
                let attributes = try manager.attributesOfItem(atPath: full)
                let type = attributes[.type] as? FileAttributeType
                let isYAML = name.hasSuffix(".yaml") || name.hasSuffix(".yml")
                let location = SourceLocation(file: "\(display)/\(relative)", line: 1, column: 1)
                switch type {
                case .typeDirectory?:
                    pending.append(relative)
                case .typeRegular?:
                    if isYAML { found.append(relative) }
                case .typeSymbolicLink?:
                    let target = URL(fileURLWithPath: full).resolvingSymlinksInPath().standardizedFileURL.path
                    guard target == root || target.hasPrefix(root + "/") else {
                        diagnostics.append(Diagnostic(location, "symbolic link leads outside the desired-state directory: refused"))
                        continue
                    }
                    var targetIsDirectory: ObjCBool = false
                    guard manager.fileExists(atPath: target, isDirectory: &targetIsDirectory) else {
                        if isYAML { diagnostics.append(Diagnostic(location, "symbolic link to nothing (or a link loop)")) }
                        continue
                    }
                    if targetIsDirectory.boolValue {
                        diagnostics.append(
                            Diagnostic(location, "symbolic link to a directory: not followed (link files, or move the directory here)"))
                    } else if isYAML {
                        found.append(relative)
                    }
                default:
                    if isYAML { diagnostics.append(Diagnostic(location, "not a regular file")) }
                }
                if found.count > limits.maxFiles {
                    diagnostics.append(Diagnostic(location, "more than \(limits.maxFiles) files in desired state"))
                    return Array(found.prefix(limits.maxFiles)).sorted()
                }
            }
        }
        return found.sorted()
    }

    /// Reads a file's bytes within the size limit; reports and returns nil otherwise.
    private func readBytes(_ path: String, file: String, diagnostics: inout [Diagnostic]) -> [UInt8]? {
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            diagnostics.append(Diagnostic(start, "cannot read the file"))
            return nil
        }
        defer { try? handle.close() }
        // Read one byte past the limit, so a large file is refused without reading it whole.
        guard let data = try? handle.read(upToCount: limits.maxFileBytes + 1) else {
            diagnostics.append(Diagnostic(start, "cannot read the file"))
            return nil
        }
        return [UInt8](data)
    }

    /// Checks size, binary content and UTF-8; returns the text or reports why not.
    private func decodeText(_ input: [UInt8], file: String, diagnostics: inout [Diagnostic]) -> String? {
        if input.count > limits.maxFileBytes {
            diagnostics.append(
                Diagnostic(SourceLocation(file: file, line: 1, column: 1), "file is larger than \(limits.maxFileBytes) bytes: refused"))
            return nil
        }
        var bytes = input
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let nul = bytes.firstIndex(of: 0) {
            let (line, column) = Self.position(of: nul, in: bytes)
            diagnostics.append(
                Diagnostic(SourceLocation(file: file, line: line, column: column), "binary file (contains a NUL byte): desired state is UTF-8 YAML"))
            return nil
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = Self.firstInvalidUTF8(bytes)
            let (line, column) = Self.position(of: offset, in: bytes)
            diagnostics.append(
                Diagnostic(SourceLocation(file: file, line: line, column: column), "not valid UTF-8 (byte \(offset)): desired state is UTF-8 YAML"))
            return nil
        }
        return text
    }

    /// 1-based line and column (in bytes) of `offset`.
    static func position(of offset: Int, in bytes: [UInt8]) -> (Int, Int) {
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, bytes.count) where bytes[index] == 10 {
            line += 1
            lineStart = index + 1
        }
        return (line, offset - lineStart + 1)
    }

    /// The byte offset where decoding UTF-8 first fails.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput, .error: return offset
            }
        }
    }

    /// Reports every scalar or key that looks like a credential, without printing it.
    private func reportSecrets(in document: YAMLNode, context: DecodeContext) {
        var stack: [(YAMLNode, String)] = [(document, "")]
        while let (node, path) = stack.popLast() {
            switch node.value {
            case .scalar(let scalar):
                if let match = SecretDetector.matches(in: scalar.text, stopAtFirst: true, requireBoundary: false).first {
                    context.error(
                        at: node, path,
                        "looks like \(match.kind.article) \(match.kind.displayName) (value not shown): manifests name environment variables, never secret values; put the secret in the environment or .env and write its variable name here"
                    )
                }
            case .sequence(let items):
                for (index, item) in items.enumerated().reversed() { stack.append((item, "\(path)[\(index)]")) }
            case .mapping(let pairs):
                for pair in pairs.reversed() {
                    if let match = SecretDetector.matches(in: pair.key, stopAtFirst: true, requireBoundary: false).first {
                        context.error(
                            pair.keyLine, pair.keyColumn, path, "a field name looks like \(match.kind.article) \(match.kind.displayName) (not shown)")
                    }
                    stack.append((pair.value, join(path, pair.key)))
                }
            }
        }
    }
}

/// One desired-state file's contents.
public struct SourceFile: Sendable, Hashable {
    /// The name diagnostics use, e.g. `desired/projects/a.yaml`.
    public var name: String
    /// The path relative to the desired-state directory, e.g. `projects/a.yaml`.
    public var relative: String
    public var bytes: [UInt8]

    public init(name: String, relative: String, bytes: [UInt8]) {
        self.name = name
        self.relative = relative
        self.bytes = bytes
    }
}

/// An object as decoded, with where it came from.
struct LoadedObject {
    var object: DesiredObject
    var file: String
    var relative: String
    var document: YAMLNode
    var context: String?

    var location: SourceLocation { SourceLocation(file: file, line: document.line, column: document.column) }

    /// The location of a field's value (dotted path, `[i]` for list elements), or of the object.
    func location(of path: String) -> SourceLocation {
        var node = document
        for component in path.split(separator: ".") {
            var name = Substring(component)
            var indices: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]"),
                let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)])
            {
                indices.insert(index, at: 0)
                name = name[..<open]
            }
            guard case .mapping(let pairs) = node.value, let pair = pairs.first(where: { $0.key == name }) else { break }
            node = pair.value
            for index in indices {
                guard case .sequence(let items) = node.value, items.indices.contains(index) else { break }
                node = items[index]
            }
        }
        return SourceLocation(file: file, line: node.line, column: node.column)
    }

    func diagnostic(_ field: String, _ message: String) -> Diagnostic {
        Diagnostic(location(of: field), object: context, field: field, message)
    }
}
