import Foundation

/// Loading config files: parsing, then resolving the `base:` chain.
///
/// A top-level `base: other.yaml` (a path relative to the directory of the file that names it, or
/// absolute) names a config whose mapping is deep-merged *under* this one (`merge(base:override:)`).
/// Chains are allowed up to `maxBaseDepth` files; a cycle is an error naming the files. Every node
/// keeps the location of the file it came from, so errors point into the right file.
public enum ConfigLoader {
    /// The longest `base:` chain accepted.
    public static let maxBaseDepth = 32

    /// Reads `path`, parses it and resolves its `base:` chain. The result is a mapping without the
    /// `base` key (an empty file gives an empty mapping).
    public static func load(path: String) throws(AttnError) -> ConfigNode {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch let e as AttnError {
            throw e
        } catch {
            throw AttnError.input(file: path, item: nil, message: "cannot read config file")
        }
        return try resolve(bytes: bytes, file: path, chain: [])
    }

    /// Parses `text` as if it were the file `file` (which names the directory `base:` paths are
    /// relative to) and resolves its `base:` chain.
    public static func load(text: String, file: String) throws(AttnError) -> ConfigNode {
        try resolve(bytes: Array(text.utf8), file: file, chain: [])
    }

    /// Deep merge: mappings merge key by key (recursively; `override`'s values win, base keys keep
    /// their order, new keys follow in `override`'s order); anything else — scalars, sequences,
    /// nulls, or a mapping meeting a non-mapping — is replaced by `override`.
    public static func merge(base: ConfigNode, override: ConfigNode) -> ConfigNode {
        guard case let .mapping(be) = base.value, case let .mapping(oe) = override.value else { return override }
        var out = be
        for o in oe {
            if let i = out.firstIndex(where: { $0.key == o.key }) {
                out[i] = ConfigEntry(key: o.key, keyLocation: o.keyLocation, value: merge(base: out[i].value, override: o.value))
            } else {
                out.append(o)
            }
        }
        return ConfigNode(.mapping(out), at: override.location)
    }

    /// Applies a command-line override `dotted.path=value` (e.g. `--set hardware.array.rows=64`) to
    /// `node`. The value is parsed as a config value (`64`, `os`, `"x y"`, `[1, 2]`, `{a: 1}`, or
    /// empty for null); errors are usage errors naming `flag`.
    public static func applyOverride(_ assignment: String, to node: inout ConfigNode, flag: String = "--set") throws(AttnError) {
        guard let eq = assignment.firstIndex(of: "=") else {
            throw AttnError.usage(flag: flag, message: "expected 'dotted.key=value', got '\(ConfigScalar.oneLine(assignment))'")
        }
        let path = String(assignment[..<eq])
        let text = String(assignment[assignment.index(after: eq)...])
        let value: ConfigNode
        do {
            value = try ConfigParser.parse(text, file: flag)
        } catch {
            throw AttnError.usage(flag: flag, message: "\(path): \(error.description)")
        }
        if value.isMapping && !text.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
            throw AttnError.usage(flag: flag, message: "\(path): value '\(ConfigScalar.oneLine(text))' contains ': '; quote it")
        }
        do {
            try ConfigSweep.set(path, to: value, in: &node, at: ConfigLocation(file: flag, line: 1, column: 1))
        } catch {
            if case let .config(_, _, _, message) = error { throw AttnError.usage(flag: flag, message: message) }
            throw error
        }
    }

    /// The files of `path`'s `base:` chain, `path` first (as far as they can be read and parsed):
    /// the inputs an output must not overwrite.
    public static func chainFiles(path: String) -> [String] {
        var files: [String] = []
        var next: String? = path
        while let file = next, files.count <= maxBaseDepth, !files.contains(file) {
            files.append(file)
            next = nil
            guard let bytes = try? readFile(file), let doc = try? ConfigParser.parse(bytes: bytes, file: file),
                  let s = doc["base"]?.scalar, !s.text.isEmpty else { break }
            next = join(directoryOf: file, s.text)
        }
        return files
    }

    // MARK: - Private

    private static func readFile(_ path: String) throws -> [UInt8] {
        var st = stat()
        if stat(path, &st) != 0 && errno == ENOENT { throw AttnError.input(file: path, item: nil, message: "no such config file") }
        if stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR {
            throw AttnError.input(file: path, item: nil, message: "is a directory, expected a config file")
        }
        return [UInt8](try InputFile.read(path, kind: "a config file"))
    }

    /// A key identifying a file for cycle detection (absolute, standardized, symlinks resolved).
    private static func identity(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    private static func resolve(bytes: [UInt8], file: String, chain: [(file: String, id: String)]) throws(AttnError) -> ConfigNode {
        let doc = try ConfigParser.parse(bytes: bytes, file: file)
        var root: ConfigNode
        switch doc.value {
        case .mapping: root = doc
        case .null: root = ConfigNode(.mapping([]), at: doc.location)
        default: throw doc.location.error("a config file must be a mapping of 'key: value' lines, got \(doc.kindDescription)")
        }
        guard let baseNode = root["base"] else { return root }
        root["base"] = nil
        if baseNode.isNull { return root }
        guard let s = baseNode.scalar, !s.text.isEmpty else {
            throw baseNode.location.error("base: expected a config file name, got \(baseNode.kindDescription)")
        }
        let basePath = join(directoryOf: file, s.text)
        let myID = identity(file)
        let fullChain = chain + [(file, myID)]
        let baseID = identity(basePath)
        if let i = fullChain.firstIndex(where: { $0.id == baseID }) {
            let names = fullChain[i...].map(\.file) + [basePath]
            throw baseNode.location.error("base: cycle: \(names.joined(separator: " -> "))")
        }
        if fullChain.count >= maxBaseDepth {
            throw baseNode.location.error("base: chain longer than \(maxBaseDepth) files")
        }
        let baseBytes: [UInt8]
        do {
            baseBytes = try readFile(basePath)
        } catch let e as AttnError {
            if case let .input(_, _, message) = e {
                throw baseNode.location.error("base: cannot read '\(basePath)': \(message)")
            }
            throw e
        } catch {
            throw baseNode.location.error("base: cannot read '\(basePath)'")
        }
        let base = try resolve(bytes: baseBytes, file: basePath, chain: fullChain)
        return merge(base: base, override: root)
    }

    /// `name` relative to the directory of `file` (unchanged if absolute or `file` has no directory).
    static func join(directoryOf file: String, _ name: String) -> String {
        if name.hasPrefix("/") { return name }
        guard let slash = file.lastIndex(of: "/") else { return name }
        return String(file[...slash]) + name
    }
}
