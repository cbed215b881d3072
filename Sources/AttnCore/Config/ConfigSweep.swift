import Foundation

/// One swept key of a sweep point: its dotted path and its value as text (a CSV column).
public struct SweptValue: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let value: String
    public init(path: String, value: String) {
        self.path = path
        self.value = value
    }
    public var description: String { "\(path)=\(value)" }
}

/// One point of a sweep: the fully resolved config (no `sweep:`/`zip:` keys, swept values set) and
/// the swept values, in dimension order.
public struct SweepPoint: Sendable {
    /// 0-based position in the expansion order.
    public let index: Int
    public let config: ConfigNode
    public let sweptValues: [SweptValue]

    public init(index: Int, config: ConfigNode, sweptValues: [SweptValue]) {
        self.index = index
        self.config = config
        self.sweptValues = sweptValues
    }
}

/// Sweep expansion.
///
/// ```yaml
/// sweep:                       # cartesian product, first key slowest
///   hardware.array.rows: [16, 32]
///   attention.theta: [0.1, 0.2, 0.3]
/// zip:                         # each group varies together: one dimension
///   - {hardware.clock_ghz: [1.0, 2.0], hardware.voltage: [0.8, 1.0]}
/// ```
/// The dimensions are the `sweep:` keys in document order, then the `zip:` groups in order; the
/// points enumerate their cartesian product with the first dimension slowest (like nested loops
/// written in document order). Each point's config is the document without `sweep`/`zip` and with
/// every swept path set (missing intermediate mappings are created), so a misspelled path is caught
/// by the schema decoder's `finish()` like any unknown key. `sweep: null` (e.g. to drop a base
/// file's sweep) means no sweep.
public enum ConfigSweep {
    public static let defaultMaxPoints = 100_000
    /// Memory one expanded and decoded point takes, at least (measured: 2.1 KB per point for a
    /// 100,000-point sweep of the array size, max RSS 232 MB against 44 MB for 10,000 points).
    public static let bytesPerPoint = 2048

    static func byteText(_ bytes: Double) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
        var v = bytes, u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return u == 0 ? "\(Int(v)) bytes" : String(format: "%.1f %@", v, units[u])
    }

    private struct Dimension {
        var paths: [(path: String, segments: [String], location: ConfigLocation)]
        var rows: [[ConfigNode]]  // rows[i][k] = value of paths[k] at position i
    }

    /// Expands `document` (a mapping, normally from `ConfigLoader.load`) into its sweep points. A
    /// document without `sweep:`/`zip:` gives one point.
    public static func expand(_ document: ConfigNode, maxPoints: Int = defaultMaxPoints) throws(AttnError) -> [SweepPoint] {
        guard document.isMapping || document.isNull else {
            throw document.location.error("a config must be a mapping, got \(document.kindDescription)")
        }
        var base = document.isNull ? ConfigNode(.mapping([]), at: document.location) : document
        let sweepNode = base["sweep"]
        let zipNode = base["zip"]
        base["sweep"] = nil
        base["zip"] = nil
        var paths = SweptPaths()
        var dims = try sweepDimensions(sweepNode, paths: &paths)
        dims += try zipDimensions(zipNode, paths: &paths)
        let total = try pointCount(dims, maxPoints: maxPoints, at: sweepNode?.location ?? zipNode?.location ?? document.location)
        return try points(of: base, dims: dims, total: total)
    }

    /// The swept paths seen so far: a path swept twice, or one inside another, is an error.
    private struct SweptPaths {
        var seen: [(path: String, segments: [String], location: ConfigLocation)] = []

        mutating func add(_ path: String, at loc: ConfigLocation) throws(AttnError) -> (path: String, segments: [String], location: ConfigLocation) {
            let segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if path.isEmpty || segments.contains(where: \.isEmpty) {
                throw loc.error("sweep path '\(path)': expected dotted keys like 'hardware.array.rows'")
            }
            if ["sweep", "zip", "base"].contains(segments[0]) {
                throw loc.error("sweep path '\(path)': '\(segments[0])' cannot be swept")
            }
            for other in seen {
                let n = min(other.segments.count, segments.count)
                if Array(other.segments.prefix(n)) == Array(segments.prefix(n)) {
                    let what = other.segments.count == segments.count ? "is swept twice" : "overlaps '\(other.path)'"
                    throw loc.error("sweep path '\(path)' \(what) (line \(other.location.line))")
                }
            }
            let entry = (path, segments, loc)
            seen.append(entry)
            return entry
        }
    }

    /// One dimension per `sweep:` key.
    private static func sweepDimensions(_ sweepNode: ConfigNode?, paths: inout SweptPaths) throws(AttnError) -> [Dimension] {
        guard let sweepNode, !sweepNode.isNull else { return [] }
        guard let entries = sweepNode.entries else {
            throw sweepNode.location.error("sweep: expected a mapping of dotted key paths to lists of values, got \(sweepNode.kindDescription)")
        }
        var dims: [Dimension] = []
        for e in entries {
            let p = try paths.add(e.key, at: e.keyLocation)
            let values = try valueList(e.value, path: "sweep.\(e.key)")
            dims.append(Dimension(paths: [p], rows: values.map { [$0] }))
        }
        return dims
    }

    /// One dimension per `zip:` group, its lists of equal lengths.
    private static func zipDimensions(_ zipNode: ConfigNode?, paths: inout SweptPaths) throws(AttnError) -> [Dimension] {
        guard let zipNode, !zipNode.isNull else { return [] }
        guard let groups = zipNode.items else {
            throw zipNode.location.error("zip: expected a list of groups ('- {path: [values], other.path: [values]}'), got \(zipNode.kindDescription)")
        }
        var dims: [Dimension] = []
        for (g, group) in groups.enumerated() {
            guard let entries = group.entries, !entries.isEmpty else {
                throw group.location.error("zip[\(g)]: expected a mapping of dotted key paths to equal-length lists, got \(group.kindDescription)")
            }
            var groupPaths: [(path: String, segments: [String], location: ConfigLocation)] = []
            var lists: [[ConfigNode]] = []
            for e in entries {
                groupPaths.append(try paths.add(e.key, at: e.keyLocation))
                lists.append(try valueList(e.value, path: "zip[\(g)].\(e.key)"))
            }
            if let first = lists.first, lists.contains(where: { $0.count != first.count }) {
                let sizes = zip(entries, lists).map { "\($0.key) has \($1.count)" }.joined(separator: ", ")
                throw group.location.error("zip[\(g)]: lists must have equal lengths: \(sizes)")
            }
            let count = lists.first?.count ?? 0
            var rows: [[ConfigNode]] = []
            for i in 0..<count { rows.append(lists.map { $0[i] }) }
            dims.append(Dimension(paths: groupPaths, rows: rows))
        }
        return dims
    }

    /// The number of points, refused (at `loc`) over `maxPoints` or when their expansion would not
    /// fit in half of this machine's memory (points are expanded and decoded up front).
    private static func pointCount(_ dims: [Dimension], maxPoints: Int, at loc: ConfigLocation) throws(AttnError) -> Int {
        var total = 1
        for d in dims {
            let (product, overflow) = total.multipliedReportingOverflow(by: d.rows.count)
            total = overflow ? Int.max : product
        }
        if total > maxPoints {
            let sizes = dims.map { "\($0.paths.map(\.path).joined(separator: "+")) × \($0.rows.count)" }.joined(separator: ", ")
            let count = total == Int.max ? "more than \(Int.max)" : "\(total)"
            throw loc.error("sweep has \(count) points, more than the limit of \(maxPoints) (\(sizes))")
        }
        let memory = ProcessInfo.processInfo.physicalMemory / 2
        if UInt64(total) > memory / UInt64(bytesPerPoint) {
            throw loc.error("sweep has \(total) points; expanding them needs about \(byteText(Double(total) * Double(bytesPerPoint))) of memory (\(bytesPerPoint) bytes per point), more than half of this machine's \(byteText(Double(memory * 2))): split it into smaller sweeps")
        }
        return total
    }

    /// The `total` points: point i takes the mixed-radix digits of i (last dimension fastest).
    private static func points(of base: ConfigNode, dims: [Dimension], total: Int) throws(AttnError) -> [SweepPoint] {
        var points: [SweepPoint] = []
        points.reserveCapacity(total)
        var digits = [Int](repeating: 0, count: dims.count)
        for index in 0..<total {
            var rest = index
            for d in stride(from: dims.count - 1, through: 0, by: -1) {
                digits[d] = rest % dims[d].rows.count
                rest /= dims[d].rows.count
            }
            var config = base
            var swept: [SweptValue] = []
            for (d, dim) in dims.enumerated() {
                let row = dim.rows[digits[d]]
                for (k, p) in dim.paths.enumerated() {
                    try set(p.segments, to: row[k], in: &config, path: p.path, at: p.location)
                    swept.append(SweptValue(path: p.path, value: row[k].displayText))
                }
            }
            points.append(SweepPoint(index: index, config: config, sweptValues: swept))
        }
        return points
    }

    /// Sets the value at dotted `path` in `document` (a mapping), creating missing or null
    /// intermediate mappings. A scalar or list in the way is an error at `location`.
    public static func set(_ path: String, to value: ConfigNode, in document: inout ConfigNode, at location: ConfigLocation) throws(AttnError) {
        let segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if path.isEmpty || segments.contains(where: \.isEmpty) {
            throw location.error("path '\(path)': expected dotted keys like 'hardware.array.rows'")
        }
        try set(segments, to: value, in: &document, path: path, at: location)
    }

    private static func set(_ segments: [String], to value: ConfigNode, in node: inout ConfigNode, path: String, at location: ConfigLocation, depth: Int = 0) throws(AttnError) {
        guard depth < segments.count else { return }
        if node.isNull { node = ConfigNode(.mapping([]), at: location) }
        guard case var .mapping(entries) = node.value else {
            let prefix = segments.prefix(depth).joined(separator: ".")
            throw location.error("cannot set '\(path)': '\(prefix)' is \(node.kindDescription), not a mapping")
        }
        let key = segments[depth]
        let i: Int
        if let found = entries.firstIndex(where: { $0.key == key }) {
            i = found
        } else {
            entries.append(ConfigEntry(key: key, keyLocation: location, value: ConfigNode(.null, at: location)))
            i = entries.count - 1
        }
        if depth == segments.count - 1 {
            entries[i].value = value
        } else {
            var child = entries[i].value
            node.value = .null // drop the reference so `child` is uniquely referenced
            try set(segments, to: value, in: &child, path: path, at: location, depth: depth + 1)
            entries[i].value = child
        }
        node.value = .mapping(entries)
    }

    private static func valueList(_ node: ConfigNode, path: String) throws(AttnError) -> [ConfigNode] {
        guard let items = node.items else {
            throw node.location.error("\(path): expected a list of values like [1, 2, 4], got \(node.kindDescription)")
        }
        if items.isEmpty { throw node.location.error("\(path): the list of values is empty") }
        return items
    }
}
