/// The canonical text of a config and its `config_id`.
///
/// Canonical form (re-parseable by `ConfigParser`, so `attnsim run --print-config` can print it):
/// - mapping keys sorted by their UTF-8 bytes, written plain when they are `[A-Za-z0-9_]` words
///   (plus inner `-`, `.`), else double-quoted; block style, two spaces per level;
/// - sequences whose items are all scalars/nulls in flow style `[a, b]`, others in block style;
///   collections inside flow collections in flow style; empty ones as `[]` / `{}`;
/// - `null`; `true` / `false`; plain numbers by value (`ConfigScalar.canonicalNumber`: `1`, `1.0`,
///   `1e0` → `1`); every other scalar (plain or quoted) as a double-quoted string, so `os`,
///   `'os'` and `"os"` are the same but `"3"` (a string) differs from `3` (a number).
///
/// `config_id` = the first 12 hex digits of SHA-256 over the UTF-8 canonical text (ending in a
/// newline), i.e. `attnsim run --print-config ... | sha256sum | cut -c1-12`.
public enum ConfigCanonical {
    /// The canonical block text of `node`, ending in a newline.
    public static func text(_ node: ConfigNode) -> String {
        var out = ""
        switch node.value {
        case let .mapping(entries) where !entries.isEmpty:
            writeMapping(sorted(entries), indent: 0, into: &out)
        case let .sequence(items) where !items.isEmpty && !isFlowSequence(items):
            writeSequence(items, indent: 0, into: &out)
        default:
            out += flow(node) + "\n"
        }
        return out
    }

    /// The canonical one-line flow form of `node` (`{a: 1, b: [2, 3]}`).
    public static func flow(_ node: ConfigNode) -> String {
        switch node.value {
        case .null: return "null"
        case let .scalar(t, q): return scalar(t, quoted: q)
        case let .sequence(items): return "[" + items.map(flow).joined(separator: ", ") + "]"
        case let .mapping(entries):
            return "{" + sorted(entries).map { key($0.key) + ": " + flow($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// `config_id`: the first 12 lowercase hex digits of SHA-256 of `text(node)`.
    public static func configID(_ node: ConfigNode) -> String {
        String(SHA256Hash.hex(Array(text(node).utf8)).prefix(12))
    }

    /// Canonical scalar spelling (see the type's doc comment).
    public static func scalar(_ t: String, quoted: Bool) -> String {
        if quoted { return ConfigScalar.quote(t) }
        switch ConfigScalar.kind(t, quoted: false) {
        case let .bool(v): return v ? "true" : "false"
        case let .int(v?): return String(v)
        case .int(nil): // integer syntax too large for Int: compare by Double value
            let d = Double(t) ?? .nan
            return d.isFinite ? ConfigScalar.canonicalNumber(d) : ConfigScalar.quote(t)
        case let .number(d): return d.isFinite ? ConfigScalar.canonicalNumber(d) : ConfigScalar.quote(t)
        case .string: return ConfigScalar.quote(t)
        }
    }

    static func sorted(_ entries: [ConfigEntry]) -> [ConfigEntry] {
        entries.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    static func key(_ k: String) -> String {
        let u = Array(k.utf8)
        func word(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        guard let first = u.first, let last = u.last, word(first), word(last),
              u.allSatisfy({ word($0) || $0 == 0x2D || $0 == 0x2E }),
              k != "null", k != "true", k != "false" else { return ConfigScalar.quote(k) }
        return k
    }

    private static func isFlowSequence(_ items: [ConfigNode]) -> Bool {
        items.allSatisfy { item in
            switch item.value {
            case .null, .scalar: return true
            case let .sequence(s): return s.isEmpty
            case let .mapping(m): return m.isEmpty
            }
        }
    }

    private static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    /// Writes `entries` (already sorted) one per line at `indent`.
    private static func writeMapping(_ entries: [ConfigEntry], indent: Int, into out: inout String, firstLinePrefixed: Bool = false) {
        for (i, e) in entries.enumerated() {
            if !(firstLinePrefixed && i == 0) { out += pad(indent) }
            out += key(e.key) + ":"
            writeValue(e.value, indent: indent, into: &out)
        }
    }

    private static func writeValue(_ v: ConfigNode, indent: Int, into out: inout String) {
        switch v.value {
        case let .mapping(m) where !m.isEmpty:
            out += "\n"
            writeMapping(sorted(m), indent: indent + 2, into: &out)
        case let .sequence(s) where !s.isEmpty && !isFlowSequence(s):
            out += "\n"
            writeSequence(s, indent: indent + 2, into: &out)
        default:
            out += " " + flow(v) + "\n"
        }
    }

    private static func writeSequence(_ items: [ConfigNode], indent: Int, into out: inout String) {
        for item in items {
            out += pad(indent) + "-"
            switch item.value {
            case let .mapping(m) where !m.isEmpty:
                out += " "
                writeMapping(sorted(m), indent: indent + 2, into: &out, firstLinePrefixed: true)
            default:
                out += " " + flow(item) + "\n"
            }
        }
    }
}

extension ConfigNode {
    /// The canonical text (see `ConfigCanonical`); hash it for `configID`.
    public var canonicalText: String { ConfigCanonical.text(self) }
    /// The stable 12-hex-digit id of this config (`ConfigCanonical.configID`).
    public var configID: String { ConfigCanonical.configID(self) }
}
