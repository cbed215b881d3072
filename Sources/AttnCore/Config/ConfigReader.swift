/// Typed, strict decoding of one config mapping into a config struct.
///
/// ```swift
/// let r = try ConfigReader(root, path: "hardware.array")   // or: try root.child("array")
/// let rows = try r.int("rows", default: 32, range: 1...65536)
/// let clock = try r.double("clock_ghz", default: 1.0, range: 0.01...100.0)
/// let flow = try r.choice("dataflow", default: Dataflow.os)
/// try r.finish()   // unknown keys → error with a did-you-mean suggestion
/// ```
///
/// Rules (documented in docs/config-language.md):
/// - A missing key or an explicit `null` / empty value takes the default (`nil` for `optional...`);
///   a required key (no default) that is missing or null is an error.
/// - Integers are accepted where numbers (`double`) are expected; numbers are not accepted as integers.
/// - Only plain scalars are typed: a quoted `"3"` is a string, not an integer; bools are `true`/`false`.
/// - Every key asked for (present or not) becomes an allowed key; `finish()` rejects the others and
///   then finishes every reader made by `child`/`optionalChild`/`childList`.
/// - Errors are `AttnError.config` at the value's `file:line:col`, message prefixed by the dotted key
///   path: `sweep.yaml:4:9: hardware.array.rows: expected an integer in 1...65536, got 'abc'`.
public final class ConfigReader {
    /// The mapping being read (an empty mapping when the config had none).
    public let node: ConfigNode
    /// Dotted key path of this mapping from the document root ("" for the root).
    public let path: String
    private let entries: [ConfigEntry]
    private var known: [String] = []
    private var children: [ConfigReader] = []

    /// A reader over `node`, which must be a mapping or null (null reads as an empty mapping).
    public init(_ node: ConfigNode, path: String = "") throws(AttnError) {
        self.path = path
        switch node.value {
        case let .mapping(e): self.entries = e; self.node = node
        case .null: self.entries = []; self.node = ConfigNode(.mapping([]), at: node.location)
        default:
            throw node.location.error("\(path.isEmpty ? "" : path + ": ")expected a mapping, got \(node.kindDescription)")
        }
    }

    /// Where this mapping is (for errors about it as a whole).
    public var location: ConfigLocation { node.location }

    /// The keys present in the document, in order.
    public var keys: [String] { entries.map(\.key) }

    /// The dotted path of `key` under this reader.
    public func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Marks keys as allowed without reading them (e.g. keys another component reads).
    public func allow(_ keys: String...) { for k in keys { markKnown(k) } }

    /// Whether `key` is present (even if null). Marks it allowed.
    public func has(_ key: String) -> Bool {
        markKnown(key)
        return entries.contains { $0.key == key }
    }

    /// The raw node at `key` (nil if absent). Marks it allowed.
    public func node(_ key: String) -> ConfigNode? {
        markKnown(key)
        return entries.first { $0.key == key }?.value
    }

    /// An error located at `key`'s value (or at this mapping if `key` is nil or absent), prefixed with
    /// the key path: for cross-field checks in config decoders.
    public func error(_ key: String?, _ message: String) -> AttnError {
        if let key {
            let loc = entries.first { $0.key == key }?.value.location ?? location
            return loc.error("\(keyPath(key)): \(message)")
        }
        return location.error("\(path.isEmpty ? "" : path + ": ")\(message)")
    }

    // MARK: - Integers

    public func int(_ key: String, default value: Int, range: (any RangeExpression<Int>)? = nil) throws(AttnError) -> Int {
        try optionalInt(key, range: range) ?? value
    }
    /// A required integer.
    public func int(_ key: String, range: (any RangeExpression<Int>)? = nil) throws(AttnError) -> Int {
        guard let v = try optionalInt(key, range: range) else { throw missing(key, "an integer" + Self.describe(range)) }
        return v
    }
    public func optionalInt(_ key: String, range: (any RangeExpression<Int>)? = nil) throws(AttnError) -> Int? {
        guard let n = present(key) else { return nil }
        return try Self.toInt(n, path: keyPath(key), range: range)
    }

    // MARK: - Numbers

    public func double(_ key: String, default value: Double, range: (any RangeExpression<Double>)? = nil) throws(AttnError) -> Double {
        try optionalDouble(key, range: range) ?? value
    }
    /// A required number.
    public func double(_ key: String, range: (any RangeExpression<Double>)? = nil) throws(AttnError) -> Double {
        guard let v = try optionalDouble(key, range: range) else { throw missing(key, "a number" + Self.describe(range)) }
        return v
    }
    public func optionalDouble(_ key: String, range: (any RangeExpression<Double>)? = nil) throws(AttnError) -> Double? {
        guard let n = present(key) else { return nil }
        return try Self.toDouble(n, path: keyPath(key), range: range)
    }

    // MARK: - Bools

    public func bool(_ key: String, default value: Bool) throws(AttnError) -> Bool {
        try optionalBool(key) ?? value
    }
    /// A required bool.
    public func bool(_ key: String) throws(AttnError) -> Bool {
        guard let v = try optionalBool(key) else { throw missing(key, "true or false") }
        return v
    }
    public func optionalBool(_ key: String) throws(AttnError) -> Bool? {
        guard let n = present(key) else { return nil }
        if let s = n.scalar, !s.quoted, case let .bool(v) = ConfigScalar.kind(s.text, quoted: false) { return v }
        throw n.location.error("\(keyPath(key)): expected true or false, got \(n.kindDescription)")
    }

    // MARK: - Strings

    /// Any scalar's text (plain or quoted; plain `3` reads as "3"). `nonEmpty` rejects "".
    public func string(_ key: String, default value: String, nonEmpty: Bool = false) throws(AttnError) -> String {
        try optionalString(key, nonEmpty: nonEmpty) ?? value
    }
    /// A required string.
    public func string(_ key: String, nonEmpty: Bool = false) throws(AttnError) -> String {
        guard let v = try optionalString(key, nonEmpty: nonEmpty) else { throw missing(key, "a string") }
        return v
    }
    public func optionalString(_ key: String, nonEmpty: Bool = false) throws(AttnError) -> String? {
        guard let n = present(key) else { return nil }
        return try Self.toString(n, path: keyPath(key), nonEmpty: nonEmpty)
    }

    // MARK: - Choices

    /// One of an enum's raw values (case-sensitive); the error lists them and suggests the closest.
    public func choice<E: CaseIterable & RawRepresentable>(_ key: String, default value: E) throws(AttnError) -> E where E.RawValue == String {
        try optionalChoice(key, as: E.self) ?? value
    }
    /// A required choice.
    public func choice<E: CaseIterable & RawRepresentable>(_ key: String, as type: E.Type = E.self) throws(AttnError) -> E where E.RawValue == String {
        guard let v = try optionalChoice(key, as: type) else {
            throw missing(key, "one of " + E.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return v
    }
    public func optionalChoice<E: CaseIterable & RawRepresentable>(_ key: String, as type: E.Type = E.self) throws(AttnError) -> E? where E.RawValue == String {
        guard let n = present(key) else { return nil }
        return try Self.toChoice(n, path: keyPath(key), as: type)
    }

    // MARK: - Lists

    /// A list of integers (`[1, 2]` or a block list). `count` limits the length.
    public func ints(_ key: String, default value: [Int], range: (any RangeExpression<Int>)? = nil, count: ClosedRange<Int>? = nil) throws(AttnError) -> [Int] {
        try optionalInts(key, range: range, count: count) ?? value
    }
    public func optionalInts(_ key: String, range: (any RangeExpression<Int>)? = nil, count: ClosedRange<Int>? = nil) throws(AttnError) -> [Int]? {
        guard let items = try list(key, count: count, of: "integers") else { return nil }
        var out: [Int] = []
        for (i, item) in items.enumerated() { out.append(try Self.toInt(item, path: "\(keyPath(key))[\(i)]", range: range)) }
        return out
    }
    public func doubles(_ key: String, default value: [Double], range: (any RangeExpression<Double>)? = nil, count: ClosedRange<Int>? = nil) throws(AttnError) -> [Double] {
        try optionalDoubles(key, range: range, count: count) ?? value
    }
    public func optionalDoubles(_ key: String, range: (any RangeExpression<Double>)? = nil, count: ClosedRange<Int>? = nil) throws(AttnError) -> [Double]? {
        guard let items = try list(key, count: count, of: "numbers") else { return nil }
        var out: [Double] = []
        for (i, item) in items.enumerated() { out.append(try Self.toDouble(item, path: "\(keyPath(key))[\(i)]", range: range)) }
        return out
    }
    public func strings(_ key: String, default value: [String], count: ClosedRange<Int>? = nil) throws(AttnError) -> [String] {
        try optionalStrings(key, count: count) ?? value
    }
    public func optionalStrings(_ key: String, count: ClosedRange<Int>? = nil) throws(AttnError) -> [String]? {
        guard let items = try list(key, count: count, of: "strings") else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() { out.append(try Self.toString(item, path: "\(keyPath(key))[\(i)]", nonEmpty: false)) }
        return out
    }

    // MARK: - Nested mappings

    /// The mapping at `key`; missing or null gives an empty reader (so every default applies).
    public func child(_ key: String) throws(AttnError) -> ConfigReader {
        let n = present(key) ?? ConfigNode(.mapping([]), at: entries.first { $0.key == key }?.value.location ?? location)
        let r = try ConfigReader(n, path: keyPath(key))
        children.append(r)
        return r
    }
    /// The mapping at `key`, or nil when missing or null.
    public func optionalChild(_ key: String) throws(AttnError) -> ConfigReader? {
        guard let n = present(key) else { return nil }
        let r = try ConfigReader(n, path: keyPath(key))
        children.append(r)
        return r
    }
    /// A list of mappings at `key` (`- name: a` items); missing or null gives [].
    public func childList(_ key: String, count: ClosedRange<Int>? = nil) throws(AttnError) -> [ConfigReader] {
        guard let items = try list(key, count: count, of: "mappings") else { return [] }
        var out: [ConfigReader] = []
        for (i, item) in items.enumerated() {
            let r = try ConfigReader(item, path: "\(keyPath(key))[\(i)]")
            children.append(r)
            out.append(r)
        }
        return out
    }

    // MARK: - Finish

    /// Rejects keys nobody asked for (with a did-you-mean suggestion), then finishes the child readers.
    public func finish() throws(AttnError) {
        for e in entries where !known.contains(e.key) {
            var message = "\(keyPath(e.key)): unknown key"
            if let s = Self.suggestion(for: e.key, among: known) { message += "; did you mean '\(s)'?" }
            message += known.isEmpty ? " (no keys are allowed here)" : " (allowed: \(known.joined(separator: ", ")))"
            throw e.keyLocation.error(message)
        }
        for c in children { try c.finish() }
    }

    // MARK: - Helpers

    private func markKnown(_ key: String) { if !known.contains(key) { known.append(key) } }

    /// The non-null node at `key`, marking the key allowed.
    private func present(_ key: String) -> ConfigNode? {
        markKnown(key)
        guard let n = entries.first(where: { $0.key == key })?.value, !n.isNull else { return nil }
        return n
    }

    private func missing(_ key: String, _ expected: String) -> AttnError {
        let loc = entries.first { $0.key == key }?.value.location ?? location
        return loc.error("\(keyPath(key)): missing required value (expected \(expected))")
    }

    private func list(_ key: String, count: ClosedRange<Int>?, of what: String) throws(AttnError) -> [ConfigNode]? {
        guard let n = present(key) else { return nil }
        guard let items = n.items else {
            throw n.location.error("\(keyPath(key)): expected a list of \(what), got \(n.kindDescription)")
        }
        if let count, !count.contains(items.count) {
            let want = count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound)...\(count.upperBound)"
            throw n.location.error("\(keyPath(key)): expected \(want) \(what), got \(items.count)")
        }
        return items
    }

    static func toInt(_ n: ConfigNode, path: String, range: (any RangeExpression<Int>)?) throws(AttnError) -> Int {
        let expected = "expected an integer" + describe(range)
        guard let s = n.scalar, !s.quoted else {
            throw n.location.error("\(path): \(expected), got \(n.kindDescription)")
        }
        switch ConfigScalar.kind(s.text, quoted: false) {
        case let .int(v?):
            if let range, !range.contains(v) { throw n.location.error("\(path): \(expected), got \(v)") }
            return v
        case .int(nil):
            throw n.location.error("\(path): \(expected), got '\(ConfigScalar.brief(s.text))' (too large)")
        default:
            throw n.location.error("\(path): \(expected), got '\(ConfigScalar.brief(s.text))'")
        }
    }

    static func toDouble(_ n: ConfigNode, path: String, range: (any RangeExpression<Double>)?) throws(AttnError) -> Double {
        let expected = "expected a number" + describe(range)
        guard let s = n.scalar, !s.quoted else {
            throw n.location.error("\(path): \(expected), got \(n.kindDescription)")
        }
        let v: Double
        switch ConfigScalar.kind(s.text, quoted: false) {
        case let .int(i?): v = Double(i)
        case .int(nil): v = Double(s.text) ?? .nan
        case let .number(d): v = d
        default: throw n.location.error("\(path): \(expected), got '\(ConfigScalar.brief(s.text))'")
        }
        if !v.isFinite { throw n.location.error("\(path): \(expected), got '\(ConfigScalar.brief(s.text))' (out of range)") }
        if let range, !range.contains(v) { throw n.location.error("\(path): \(expected), got \(s.text)") }
        return v
    }

    static func toString(_ n: ConfigNode, path: String, nonEmpty: Bool) throws(AttnError) -> String {
        guard let s = n.scalar else { throw n.location.error("\(path): expected a string, got \(n.kindDescription)") }
        if nonEmpty && s.text.isEmpty { throw n.location.error("\(path): expected a non-empty string") }
        return s.text
    }

    static func toChoice<E: CaseIterable & RawRepresentable>(_ n: ConfigNode, path: String, as: E.Type) throws(AttnError) -> E where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue)
        if let s = n.scalar, let v = E(rawValue: s.text) { return v }
        var message = "\(path): expected one of \(allowed.joined(separator: ", ")), got \(n.kindDescription)"
        if let s = n.scalar, let best = suggestion(for: s.text, among: allowed) { message += "; did you mean '\(best)'?" }
        throw n.location.error(message)
    }

    /// " in 1...8", " >= 0.0", ... for messages ("" for no range).
    static func describe<T: Comparable>(_ range: (any RangeExpression<T>)?) -> String {
        guard let range else { return "" }
        switch range {
        case let r as ClosedRange<T>: return " in \(r.lowerBound)...\(r.upperBound)"
        case let r as Range<T>: return " in \(r.lowerBound)..<\(r.upperBound)"
        case let r as PartialRangeFrom<T>: return " >= \(r.lowerBound)"
        case let r as PartialRangeThrough<T>: return " <= \(r.upperBound)"
        case let r as PartialRangeUpTo<T>: return " < \(r.upperBound)"
        default: return " in \(range)"
        }
    }

    /// The most likely intended candidate for a typo: among candidates where one word is a prefix
    /// of the other (case-insensitive, the shorter at least 3 characters) the closest by edit
    /// distance; otherwise the closest candidate within edit distance max(2, length/3); else nil.
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let wl = word.lowercased()
        let w = Array(wl.unicodeScalars)
        var bestPrefix: (String, Int)?
        var best: (String, Int)?
        for c in candidates {
            let cl = c.lowercased()
            let d = editDistance(w, Array(cl.unicodeScalars))
            if min(cl.count, wl.count) >= 3 && (cl.hasPrefix(wl) || wl.hasPrefix(cl)) {
                if bestPrefix.map({ d < $0.1 }) ?? true { bestPrefix = (c, d) }
            }
            if best.map({ d < $0.1 }) ?? true { best = (c, d) }
        }
        if let bestPrefix { return bestPrefix.0 }
        if let best, best.1 <= max(2, w.count / 3) { return best.0 }
        return nil
    }

    /// Levenshtein distance (insertions, deletions, substitutions each cost 1).
    public static func editDistance<C: Equatable>(_ a: [C], _ b: [C]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var row = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            row[0] = i
            for j in 1...b.count {
                row[j] = Swift.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &row)
        }
        return prev[b.count]
    }
}

extension ConfigNode {
    /// A reader over this mapping (see `ConfigReader`).
    public func reader(path: String = "") throws(AttnError) -> ConfigReader { try ConfigReader(self, path: path) }
}
