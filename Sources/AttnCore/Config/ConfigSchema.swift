import Foundation

/// A config section whose keys are declared once, as a list of `ConfigKey`s: the same declaration
/// decodes the section (types, ranges, defaults, located errors), writes its canonical node (what
/// `config_id` hashes and `--print-config` prints) and renders its table in
/// docs/config-reference.md (`ConfigSchema.markdownTable`, checked by a test).
public protocol ConfigSection {
    /// Every key at its default.
    init()
    /// Every key of the section, in declaration order.
    static var keys: [ConfigKey<Self>] { get }
}

/// One declared key of a section: its dotted path under the section, what its value must be, its
/// default, its doc text, how it is read into the section and how the canonical node writes it.
///
/// Keys are read in declaration order (the order of the "allowed:" list of an unknown-key error).
/// `omitWhenDefault` leaves a key out of the canonical node while it holds its default, so keys
/// added after configs were committed do not change those configs' `config_id`s.
public struct ConfigKey<Root>: @unchecked Sendable {
    /// Dotted path under the section ("array.rows").
    public let path: String
    /// The value's type and range, as the docs show it ("integer, 1…65,536").
    public let type: String
    /// The default, as the docs show it ("—" for a required key).
    public let defaultText: String
    public let doc: String
    /// Left out of the canonical node while it holds its default.
    public let omitWhenDefault: Bool
    /// Read after the section's other keys (its value depends on them), still written at its place.
    public let readLast: Bool
    let read: (ConfigSectionReader, inout Root) throws(AttnError) -> Void
    let write: (Root) -> ConfigNode?

    /// A key with its own reading and writing (a nested section decoded by its own type).
    public init(path: String, type: String, defaultText: String, omitWhenDefault: Bool = false, readLast: Bool = false, doc: String,
                read: @escaping (ConfigSectionReader, inout Root) throws(AttnError) -> Void,
                write: @escaping (Root) -> ConfigNode?) {
        self.path = path
        self.type = type
        self.defaultText = defaultText
        self.doc = doc
        self.omitWhenDefault = omitWhenDefault
        self.readLast = readLast
        self.read = read
        self.write = write
    }

    /// The reader of the mapping holding the key, and the key's last component.
    static func split(_ path: String) -> (parent: String, leaf: String) {
        guard let dot = path.lastIndex(of: ".") else { return ("", path) }
        return (String(path[..<dot]), String(path[path.index(after: dot)...]))
    }
}

/// A cross-key check run right after a key is read (errors located with the section's readers).
public typealias ConfigCheck<Root> = (inout Root, ConfigSectionReader) throws(AttnError) -> Void

/// Whether a key takes part, given the keys read before it (a variant's keys apply to that variant).
public enum ConfigKeyUse: Sendable {
    /// Read and written to the canonical node.
    case read
    /// Accepted in the file but ignored (e.g. `zeta` while `clipped: false`), not written.
    case allowed
    /// Not a key here: an unknown-key error if present, not written.
    case absent
}

extension ConfigKey where Root: ConfigSection {
    /// A scalar key stored at `keyPath`. Its default is `default` computed from the keys read before
    /// it, or else the value the section holds when the key is read (that of `Root()`, or the one a
    /// variant key such as `pruning.kind` set); `required` keys have none. `check` runs after it is
    /// read.
    static func scalar<V: Equatable>(_ path: String, _ keyPath: WritableKeyPath<Root, V>, type: String,
                                     default dflt: ((Root) -> V)?, required: Bool, defaultText: String?, omitWhenDefault: Bool,
                                     readLast: Bool = false, when use: ((Root) -> ConfigKeyUse)?, doc: String, check: ConfigCheck<Root>?,
                                     node: @escaping (V) -> ConfigNode?, text: (V) -> String,
                                     read: @escaping (ConfigReader, String, V?, ConfigSectionReader) throws(AttnError) -> V) -> ConfigKey {
        let initial = Root()[keyPath: keyPath]
        let (parent, leaf) = split(path)
        return ConfigKey(
            path: path, type: type, defaultText: defaultText ?? (required ? "— (required)" : text(initial)),
            omitWhenDefault: omitWhenDefault, readLast: readLast, doc: doc,
            read: { (s: ConfigSectionReader, root: inout Root) throws(AttnError) in
                switch use?(root) ?? .read {
                case .absent: return
                case .allowed: try s.reader(parent).allow(leaf); return
                case .read: break
                }
                let d = required ? nil : (dflt?(root) ?? root[keyPath: keyPath])
                root[keyPath: keyPath] = try read(try s.reader(parent), leaf, d, s)
                try check?(&root, s)
            },
            write: { root in
                guard case .read = use?(root) ?? .read else { return nil }
                let v = root[keyPath: keyPath]
                return omitWhenDefault && v == (dflt?(root) ?? initial) ? nil : node(v)
            })
    }

    public static func int(_ path: String, _ keyPath: WritableKeyPath<Root, Int>, range: ClosedRange<Int>,
                           default dflt: ((Root) -> Int)? = nil, required: Bool = false, defaultText: String? = nil,
                           omitWhenDefault: Bool = false, when use: ((Root) -> ConfigKeyUse)? = nil,
                           doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "integer, \(ConfigSchema.text(range))", default: dflt, required: required, defaultText: defaultText,
               omitWhenDefault: omitWhenDefault, when: use, doc: doc, check: check, node: { .int($0) }, text: { String($0) },
               read: { (r, key, d, _) throws(AttnError) in
                   if let d { return try r.int(key, default: d, range: range) }
                   return try r.int(key, range: range)
               })
    }

    public static func double(_ path: String, _ keyPath: WritableKeyPath<Root, Double>, range: ClosedRange<Double>,
                              default dflt: ((Root) -> Double)? = nil, required: Bool = false, defaultText: String? = nil,
                              omitWhenDefault: Bool = false, when use: ((Root) -> ConfigKeyUse)? = nil,
                              doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "number, \(ConfigSchema.text(range))", default: dflt, required: required, defaultText: defaultText,
               omitWhenDefault: omitWhenDefault, when: use, doc: doc, check: check, node: { .double($0) },
               text: { ConfigScalar.canonicalNumber($0) },
               read: { (r, key, d, _) throws(AttnError) in
                   if let d { return try r.double(key, default: d, range: range) }
                   return try r.double(key, range: range)
               })
    }

    public static func bool(_ path: String, _ keyPath: WritableKeyPath<Root, Bool>,
                            default dflt: ((Root) -> Bool)? = nil, defaultText: String? = nil, omitWhenDefault: Bool = false,
                            when use: ((Root) -> ConfigKeyUse)? = nil, doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "`true` or `false`", default: dflt, required: false, defaultText: defaultText,
               omitWhenDefault: omitWhenDefault, when: use, doc: doc, check: check, node: { .bool($0) }, text: { "`\($0)`" },
               read: { (r, key, d, _) throws(AttnError) in try r.bool(key, default: d ?? false) })
    }

    /// One of an enum's raw values.
    public static func choice<E: CaseIterable & RawRepresentable & Equatable>(
        _ path: String, _ keyPath: WritableKeyPath<Root, E>, default dflt: ((Root) -> E)? = nil, required: Bool = false,
        defaultText: String? = nil, omitWhenDefault: Bool = false, when use: ((Root) -> ConfigKeyUse)? = nil,
        doc: String, check: ConfigCheck<Root>? = nil
    ) -> ConfigKey where E.RawValue == String {
        scalar(path, keyPath, type: E.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "), default: dflt, required: required,
               defaultText: defaultText, omitWhenDefault: omitWhenDefault, when: use, doc: doc, check: check,
               node: { .string($0.rawValue) }, text: { "`\($0.rawValue)`" },
               read: { (r, key, d, _) throws(AttnError) in
                   if let d { return try r.choice(key, default: d) }
                   return try r.choice(key)
               })
    }
}

/// The readers of one section while it is decoded: one per nested mapping, made when a key first
/// needs it (so `finish()` sees every key read from that mapping).
public final class ConfigSectionReader {
    public let root: ConfigReader
    private var readers: [String: ConfigReader] = [:]

    /// What relative paths in the section are joined to (the config file's directory).
    public let baseDirectory: String

    public init(_ root: ConfigReader, baseDirectory: String = ".") {
        self.root = root
        self.baseDirectory = baseDirectory
    }

    /// `path` joined to the base directory unless absolute.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    /// The reader of the mapping at dotted `path` under the section ("" for the section itself).
    public func reader(_ path: String) throws(AttnError) -> ConfigReader {
        if path.isEmpty { return root }
        if let r = readers[path] { return r }
        let (parent, leaf) = ConfigKey<Void>.split(path)
        let r = try reader(parent).child(leaf)
        readers[path] = r
        return r
    }
}

public enum ConfigSchema {
    /// Decodes a section: every key in declaration order (`readLast` keys after the others) onto
    /// `Root()`, then rejects unknown keys. Relative paths are joined to `baseDirectory`.
    public static func decode<Root: ConfigSection>(_ keys: [ConfigKey<Root>] = Root.keys, from r: ConfigReader,
                                                   baseDirectory: String = ".") throws(AttnError) -> Root {
        var root = Root()
        try decode(keys, from: ConfigSectionReader(r, baseDirectory: baseDirectory), into: &root)
        return root
    }

    /// Decodes `keys` from the section reader's mapping onto `root`, then rejects unknown keys there.
    public static func decode<Root>(_ keys: [ConfigKey<Root>], from s: ConfigSectionReader, into root: inout Root) throws(AttnError) {
        for k in keys where !k.readLast { try k.read(s, &root) }
        for k in keys where k.readLast { try k.read(s, &root) }
        try s.root.finish()
    }

    /// The canonical node of a section: every key that is not omitted, nested by its path.
    public static func node<Root: ConfigSection>(of root: Root) -> ConfigNode { node(Root.keys, of: root) }

    public static func node<Root>(_ keys: [ConfigKey<Root>], of root: Root) -> ConfigNode {
        var out = ConfigNode.mapping([])
        for k in keys {
            guard let v = k.write(root) else { continue }
            let parts = k.path.split(separator: ".").map(String.init)
            insert(v, at: parts[...], into: &out)
        }
        return out
    }

    private static func insert(_ v: ConfigNode, at path: ArraySlice<String>, into node: inout ConfigNode) {
        guard let first = path.first else { return }
        if path.count == 1 { node[first] = v; return }
        var child = node[first] ?? .mapping([])
        insert(v, at: path.dropFirst(), into: &child)
        node[first] = child
    }

    /// The Markdown table of a section's keys (docs/config-reference.md).
    public static func markdownTable<Root>(_ keys: [ConfigKey<Root>]) -> String {
        var out = "| key | type | default | meaning |\n|---|---|---|---|\n"
        for k in keys {
            out += "| `\(k.path)` | \(k.type) | \(k.defaultText) | \(k.doc)\(k.omitWhenDefault ? "; *omitted when default*" : "") |\n"
        }
        return out
    }

    /// A range as the docs write it: `1…65,536`.
    static func text(_ r: ClosedRange<Int>) -> String { "\(grouped(r.lowerBound))…\(grouped(r.upperBound))" }
    static func text(_ r: ClosedRange<Double>) -> String {
        "\(ConfigScalar.canonicalNumber(r.lowerBound))…\(ConfigScalar.canonicalNumber(r.upperBound))"
    }

    static func grouped(_ v: Int) -> String {
        let digits = String(v.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (v < 0 ? "-" : "") + out
    }
}
