/// Where a config value came from: `file:line:column`, 1-based. Nodes built in code (see the
/// `ConfigNode` builders) carry `ConfigLocation.synthesized` (line 0, column 0).
public struct ConfigLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The location of nodes built in code rather than parsed from a file.
    public static let synthesized = ConfigLocation(file: "<built-in>", line: 0, column: 0)

    public var description: String { "\(file):\(line):\(column)" }

    /// A config error at this location: printed as `file:line:col: message`.
    /// Control characters in the message (e.g. from a quoted key with `\n`) are escaped so the
    /// error stays one line.
    public func error(_ message: String) -> AttnError {
        .config(file: file, line: line, column: column, message: ConfigScalar.oneLine(message))
    }
}

/// One node of a parsed (or built) config document.
///
/// Scalars keep their text exactly as written (after unquoting) plus whether they were quoted;
/// typing happens at decode time (`ConfigReader`), so a quoted `"3"` stays a string while a plain
/// `3` may be read as an integer or a number. Mappings preserve document order and each key's
/// location.
public struct ConfigNode: Sendable, Equatable, CustomStringConvertible {
    public enum Value: Sendable {
        /// An empty value, `null` or `~`.
        case null
        /// A scalar: its text (unescaped, for quoted scalars) and whether it was quoted.
        case scalar(String, quoted: Bool)
        case sequence([ConfigNode])
        /// Entries in document order; keys are unique.
        case mapping([ConfigEntry])
    }

    public var value: Value
    public var location: ConfigLocation

    public init(_ value: Value, at location: ConfigLocation = .synthesized) {
        self.value = value
        self.location = location
    }

    // MARK: Builders (for re-emitting a decoded, defaults-filled config; see `canonicalText`)

    public static func null(at location: ConfigLocation = .synthesized) -> ConfigNode {
        ConfigNode(.null, at: location)
    }
    /// A plain (unquoted) integer scalar.
    public static func int(_ v: Int, at location: ConfigLocation = .synthesized) -> ConfigNode {
        ConfigNode(.scalar(String(v), quoted: false), at: location)
    }
    /// A plain number scalar, written in canonical form (`ConfigScalar.canonicalNumber`).
    /// Non-finite values cannot be written in the config language and become quoted strings.
    public static func double(_ v: Double, at location: ConfigLocation = .synthesized) -> ConfigNode {
        if v.isFinite { return ConfigNode(.scalar(ConfigScalar.canonicalNumber(v), quoted: false), at: location) }
        return ConfigNode(.scalar(v.description, quoted: true), at: location)
    }
    /// A plain `true` / `false` scalar.
    public static func bool(_ v: Bool, at location: ConfigLocation = .synthesized) -> ConfigNode {
        ConfigNode(.scalar(v ? "true" : "false", quoted: false), at: location)
    }
    /// A quoted string scalar (always a string, whatever it looks like).
    public static func string(_ v: String, at location: ConfigLocation = .synthesized) -> ConfigNode {
        ConfigNode(.scalar(v, quoted: true), at: location)
    }
    public static func sequence(_ items: [ConfigNode], at location: ConfigLocation = .synthesized) -> ConfigNode {
        ConfigNode(.sequence(items), at: location)
    }
    /// A mapping from `(key, value)` pairs in order. A later duplicate key replaces the earlier value.
    public static func mapping(_ pairs: KeyValuePairs<String, ConfigNode>, at location: ConfigLocation = .synthesized) -> ConfigNode {
        mapping(pairs.map { ($0.key, $0.value) }, at: location)
    }
    /// A mapping from `(key, value)` pairs in order. A later duplicate key replaces the earlier value.
    public static func mapping(_ pairs: [(String, ConfigNode)], at location: ConfigLocation = .synthesized) -> ConfigNode {
        var node = ConfigNode(.mapping([]), at: location)
        for (k, v) in pairs { node[k] = v }
        return node
    }

    // MARK: Inspection

    public var isNull: Bool { if case .null = value { return true } else { return false } }
    public var isMapping: Bool { if case .mapping = value { return true } else { return false } }
    public var isSequence: Bool { if case .sequence = value { return true } else { return false } }

    /// Entries if this is a mapping, else nil.
    public var entries: [ConfigEntry]? { if case let .mapping(e) = value { return e } else { return nil } }
    /// Items if this is a sequence, else nil.
    public var items: [ConfigNode]? { if case let .sequence(i) = value { return i } else { return nil } }
    /// Text and quotedness if this is a scalar, else nil.
    public var scalar: (text: String, quoted: Bool)? {
        if case let .scalar(t, q) = value { return (t, q) } else { return nil }
    }

    /// Mapping lookup by key (nil if absent or not a mapping). Setting on a mapping replaces the
    /// value in place (keeping key order) or appends; setting nil removes. Setting on a non-mapping
    /// turns the node into a mapping holding just that key.
    public subscript(key: String) -> ConfigNode? {
        get { entries?.first(where: { $0.key == key })?.value }
        set {
            var list = entries ?? []
            if let i = list.firstIndex(where: { $0.key == key }) {
                if let newValue { list[i].value = newValue } else { list.remove(at: i) }
            } else if let newValue {
                list.append(ConfigEntry(key: key, keyLocation: newValue.location, value: newValue))
            }
            value = .mapping(list)
        }
    }

    /// A short human description of the kind of node ("a mapping", "a list", "null", "'abc'"), for
    /// error messages.
    public var kindDescription: String {
        switch value {
        case .null: return "null"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case let .scalar(t, quoted):
            return quoted ? "the quoted string \(ConfigScalar.quote(ConfigScalar.brief(t)))" : "'\(ConfigScalar.brief(t))'"
        }
    }

    /// The value as a short text, used for the swept-value CSV columns: a scalar's text (unquoted),
    /// `null`, or the canonical flow form of a collection (`[1, 2]`, `{a: 1}`).
    public var displayText: String {
        switch value {
        case .null: return "null"
        case let .scalar(t, _): return t
        default: return ConfigCanonical.flow(self)
        }
    }

    public var description: String { ConfigCanonical.text(self) }

    /// Structural equality: ignores locations and the order of mapping keys (two documents with
    /// the same content are equal); sequence order and scalar quotedness matter.
    public static func == (a: ConfigNode, b: ConfigNode) -> Bool {
        switch (a.value, b.value) {
        case (.null, .null): return true
        case let (.scalar(t1, q1), .scalar(t2, q2)): return t1 == t2 && q1 == q2
        case let (.sequence(i1), .sequence(i2)): return i1 == i2
        case let (.mapping(e1), .mapping(e2)):
            guard e1.count == e2.count else { return false }
            for e in e1 {
                guard let other = e2.first(where: { $0.key == e.key }), other.value == e.value else { return false }
            }
            return true
        default: return false
        }
    }
}

/// One `key: value` entry of a mapping; `keyLocation` is where the key was written.
public struct ConfigEntry: Sendable, Equatable {
    public var key: String
    public var keyLocation: ConfigLocation
    public var value: ConfigNode

    public init(key: String, keyLocation: ConfigLocation, value: ConfigNode) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }

    public static func == (a: ConfigEntry, b: ConfigEntry) -> Bool { a.key == b.key && a.value == b.value }
}
