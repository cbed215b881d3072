import Foundation

/// Key kinds beyond numbers, bools and choices (ConfigSchema.swift): strings and paths, lists,
/// nested sections, and keys left to another reader.
extension ConfigKey where Root: ConfigSection {
    /// A string (any scalar's text). `isPath` joins it to the config file's directory unless
    /// absolute; `nonEmpty` rejects "".
    public static func string(_ path: String, _ keyPath: WritableKeyPath<Root, String>, required: Bool = false,
                              nonEmpty: Bool = false, isPath: Bool = false, defaultText: String? = nil,
                              when use: ((Root) -> ConfigKeyUse)? = nil, doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: isPath ? "path (relative to the config file)" : "string", default: nil, required: required,
               defaultText: defaultText, omitWhenDefault: false, when: use, doc: doc, check: check,
               node: { .string($0) }, text: { $0.isEmpty ? "—" : "`\($0)`" },
               read: { (r, key, d, s) throws(AttnError) in
                   if let v = try r.optionalString(key, nonEmpty: nonEmpty) { return isPath ? s.resolve(v) : v }
                   if let d { return d }
                   return try r.string(key, nonEmpty: nonEmpty)  // the missing-value error
               })
    }

    /// An optional path (nil when absent; left out of the canonical node then).
    public static func optionalPath(_ path: String, _ keyPath: WritableKeyPath<Root, String?>, when use: ((Root) -> ConfigKeyUse)? = nil,
                                    doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "path (relative to the config file)", default: nil, required: false, defaultText: "—",
               omitWhenDefault: false, when: use, doc: doc, check: check,
               node: { $0.map { .string($0) } }, text: { $0 ?? "—" },
               read: { (r, key, d, s) throws(AttnError) in
                   try r.optionalString(key, nonEmpty: true).map(s.resolve) ?? d ?? nil
               })
    }

    /// An optional integer in `range` (nil when absent; left out of the canonical node then).
    public static func optionalInt(_ path: String, _ keyPath: WritableKeyPath<Root, Int?>, range: ClosedRange<Int>,
                                   defaultText: String, when use: ((Root) -> ConfigKeyUse)? = nil,
                                   doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "integer, \(ConfigSchema.text(range))", default: nil, required: false, defaultText: defaultText,
               omitWhenDefault: false, when: use, doc: doc, check: check,
               node: { $0.map { .int($0) } }, text: { _ in defaultText },
               read: { (r, key, d, _) throws(AttnError) in try r.optionalInt(key, range: range) ?? d ?? nil })
    }

    /// A list of strings or paths of `count` items. `missing` makes the list required: its
    /// absence is an error at the section with that message.
    public static func strings(_ path: String, _ keyPath: WritableKeyPath<Root, [String]>, count: ClosedRange<Int>,
                               isPath: Bool = false, missing: String? = nil, defaultText: String? = nil,
                               when use: ((Root) -> ConfigKeyUse)? = nil, doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "list of \(isPath ? "paths" : "strings"), \(ConfigSchema.text(count)) items", default: nil,
               required: missing != nil, defaultText: defaultText, omitWhenDefault: false, when: use, doc: doc, check: check,
               node: { .sequence($0.map { .string($0) }) }, text: { "`[\($0.joined(separator: ", "))]`" },
               read: { (r, key, d, s) throws(AttnError) in
                   guard let v = try r.optionalStrings(key, count: count) ?? d else { throw r.error(nil, missing ?? "") }
                   return isPath ? v.map(s.resolve) : v
               })
    }

    /// A list of integers in `range`.
    public static func ints(_ path: String, _ keyPath: WritableKeyPath<Root, [Int]>, range: ClosedRange<Int>,
                            defaultText: String? = nil, when use: ((Root) -> ConfigKeyUse)? = nil,
                            doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "list of integers, \(ConfigSchema.text(range))", default: nil, required: false,
               defaultText: defaultText, omitWhenDefault: false, when: use, doc: doc, check: check,
               node: { .sequence($0.map { .int($0) }) }, text: { "`[\($0.map(String.init).joined(separator: ", "))]`" },
               read: { (r, key, d, _) throws(AttnError) in try r.ints(key, default: d ?? [], range: range) })
    }

    /// An optional list of `count` integers in `range` (nil when absent; left out of the canonical node then).
    public static func optionalInts(_ path: String, _ keyPath: WritableKeyPath<Root, [Int]?>, range: ClosedRange<Int>,
                                    count: ClosedRange<Int>, defaultText: String, when use: ((Root) -> ConfigKeyUse)? = nil,
                                    doc: String, check: ConfigCheck<Root>? = nil) -> ConfigKey {
        scalar(path, keyPath, type: "list of \(ConfigSchema.text(count)) integers, \(ConfigSchema.text(range))", default: nil,
               required: false, defaultText: defaultText, omitWhenDefault: false, when: use, doc: doc, check: check,
               node: { $0.map { .sequence($0.map { .int($0) }) } }, text: { _ in defaultText },
               read: { (r, key, d, _) throws(AttnError) in try r.optionalInts(key, range: range, count: count) ?? d ?? nil })
    }

    /// A list of an enum's raw values, `count` items, repeats dropped.
    public static func choices<E: CaseIterable & RawRepresentable & Equatable>(
        _ path: String, _ keyPath: WritableKeyPath<Root, [E]>, count: ClosedRange<Int>,
        when use: ((Root) -> ConfigKeyUse)? = nil, doc: String, check: ConfigCheck<Root>? = nil
    ) -> ConfigKey where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        let expected = names.count > 1 ? names.dropLast().joined(separator: ", ") + " and/or " + names.last! : names.joined()
        return scalar(path, keyPath, type: "list of " + names.map { "`\($0)`" }.joined(separator: ", "), default: nil, required: false,
                      defaultText: nil, omitWhenDefault: false, when: use, doc: doc, check: check,
                      node: { .sequence($0.map { .string($0.rawValue) }) },
                      text: { "`[\($0.map(\.rawValue).joined(separator: ", "))]`" },
                      read: { (r, key, d, _) throws(AttnError) in
                          var out: [E] = []
                          for name in try r.strings(key, default: (d ?? []).map(\.rawValue), count: count) {
                              guard let v = E(rawValue: name) else { throw r.error(key, "expected \(expected), got '\(name)'") }
                              if !out.contains(v) { out.append(v) }
                          }
                          return out
                      })
    }
}

extension ConfigKey {
    /// A nested section decoded and written by its own declarations (`S.keys`); `check` runs after it.
    public static func section<S: ConfigSection>(_ path: String, _ keyPath: WritableKeyPath<Root, S>, doc: String,
                                                 check: ConfigCheck<Root>? = nil) -> ConfigKey {
        ConfigKey(path: path, type: "mapping", defaultText: "every key at its default", doc: doc,
                  read: { (s, root) throws(AttnError) in
                      root[keyPath: keyPath] = try ConfigSchema.decode(S.keys, from: try s.reader(path), baseDirectory: s.baseDirectory)
                      try check?(&root, s)
                  },
                  write: { ConfigSchema.node(S.keys, of: $0[keyPath: keyPath]) })
    }

    /// A key the section accepts and another reader handles (never written).
    public static func allowed(_ path: String, type: String, doc: String) -> ConfigKey {
        ConfigKey(path: path, type: type, defaultText: "—", doc: doc,
                  read: { (s, _) throws(AttnError) in s.root.allow(path) }, write: { _ in nil })
    }
}

extension ConfigSweep {
    /// The top-level keys expanded before a point is decoded (docs/config-language.md), accepted by
    /// every config section that can be swept.
    public static func keys<Root>() -> [ConfigKey<Root>] {
        [.allowed("sweep", type: "mapping", doc: "dotted key path → list of values (cartesian product, first key slowest)"),
         .allowed("zip", type: "list", doc: "list of groups of paths → equal-length lists that vary together"),
         .allowed("base", type: "path", doc: "a config whose values this one overrides (deep merge)")]
    }
}
