import AttnCore
import Foundation

/// The CSV of a sweep as it runs: rows are kept by point and the file is rewritten atomically (temp
/// file + rename) at most every `flushInterval` seconds and at the end, so a killed or interrupted
/// sweep always leaves a valid CSV of every point finished so far — which `--resume` continues.
/// Rows are always written in point order, so the final file does not depend on scheduling.
public final class SweepOutput: @unchecked Sendable {
    /// The report column naming the model revision a row was made by (`--resume` and `merge` check it).
    public static let revisionColumn = "model_revision"

    public let path: String
    public let header: [String]
    private var rowsByPoint: [Int: [[String]]]
    private let lock = NSLock()
    private var lastFlush = 0.0
    private let flushInterval: Double
    private var pendingError: AttnError?

    public init(path: String, header: [String], existing: [Int: [[String]]] = [:], flushInterval: Double = 1.0) {
        self.path = path
        self.header = header
        self.rowsByPoint = existing
        self.flushInterval = flushInterval
        self.lastFlush = monotonicSeconds()
    }

    public var finishedPoints: Int { lock.lock(); defer { lock.unlock() }; return rowsByPoint.count }

    /// Records a finished point (thread-safe) and rewrites the file if a flush is due.
    public func add(point: Int, rows: [[String]]) {
        lock.lock()
        defer { lock.unlock() }
        rowsByPoint[point] = rows
        let now = monotonicSeconds()
        if path != "-" && now - lastFlush >= flushInterval {
            lastFlush = now
            do { try writeLocked() } catch { pendingError = error }
        }
    }

    /// Writes the file with every finished point (also reports a failed periodic write).
    public func flush() throws(AttnError) {
        lock.lock()
        defer { lock.unlock() }
        if let e = pendingError { throw e }
        try writeLocked()
    }

    private func writeLocked() throws(AttnError) {
        var text = CSV.record(header)
        for p in rowsByPoint.keys.sorted() { for r in rowsByPoint[p]! { text += CSV.record(r) } }
        try AtomicFile.write(text, to: path)
    }

    /// What a point of this run will write, for `resume` to compare an earlier CSV against.
    public struct Expected: Sendable {
        public var configID: String
        /// Trace file names (the `trace` column); nil where the report has no such column.
        public var traces: [String]?
        /// Phases this point may write rows for; nil where not checked.
        public var phases: [String]?
        /// Swept key paths and their values (the trailing columns).
        public var swept: [SweptValue]
        public init(configID: String, traces: [String]? = nil, phases: [String]? = nil, swept: [SweptValue] = []) {
            self.configID = configID
            self.traces = traces
            self.phases = phases
            self.swept = swept
        }
    }

    /// `--detail` level of a report CSV, inferred from its `layer` and `kv_head` columns.
    static func detail(of rows: [[String]], layer: Int, kvHead: Int) -> String {
        if rows.contains(where: { $0[kvHead] != "all" }) { return "head" }
        if rows.contains(where: { $0[layer] != "all" }) { return "layer" }
        return "summary"
    }

    /// Finished points of an earlier run of the same sweep in `path`, checked against this run:
    /// the same columns, the same `--detail` level (when `detail` is given), the same model revision
    /// (`AttnSimVersion.modelRevision`), and for every point the same traces, phases, swept values
    /// and config_id. A difference is an input error naming it.
    public static func resume(path: String, header: [String], points: [Expected], detail: String? = nil) throws(AttnError) -> [Int: [[String]]] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [:] }
        let table = try CSVTable(path: path)
        func refuse(_ what: String, at line: Int? = nil) -> AttnError {
            AttnError.input(file: line.map { "\(path):\($0)" } ?? path, item: nil,
                            message: "cannot resume: \(what); move the file away or drop --resume")
        }
        guard table.columns == header else {
            let gone = table.columns.filter { !header.contains($0) }, new = header.filter { !table.columns.contains($0) }
            var parts: [String] = []
            if !gone.isEmpty { parts.append("it has columns this run does not write (\(gone.prefix(5).joined(separator: ", "))\(gone.count > 5 ? ", ..." : ""))") }
            if !new.isEmpty { parts.append("this run writes columns it lacks (\(new.prefix(5).joined(separator: ", "))\(new.count > 5 ? ", ..." : ""))") }
            if parts.isEmpty { parts.append("its columns are in another order") }
            if header.contains(SweepOutput.revisionColumn) && !table.columns.contains(SweepOutput.revisionColumn) {
                throw refuse("it was written by an attnsim older than model revision 1 (it has no \(SweepOutput.revisionColumn) column): its numbers come from other models")
            }
            throw refuse("its columns differ from this run's: " + parts.joined(separator: "; ") + " (another sweep, or another attnsim version?)")
        }
        let index = { (name: String) in table.columns.firstIndex(of: name) }
        guard let pi = index("point"), let ci = index("config_id") else {
            throw refuse("it has no point and config_id columns")
        }
        if let detail, let li = index("layer"), let ki = index("kv_head"), !table.rows.isEmpty {
            let found = Self.detail(of: table.rows, layer: li, kvHead: ki)
            if found != detail { throw refuse("it was written with --detail \(found), this run has --detail \(detail)") }
        }
        var out: [Int: [[String]]] = [:]
        var lineOf: [Int: Int] = [:]
        let ri = index(SweepOutput.revisionColumn)
        for (n, row) in table.rows.enumerated() {
            guard let p = Int(row[pi]), p >= 0, p < points.count else {
                throw refuse("point '\(row[pi])' is not a point of this sweep (0..<\(points.count))", at: n + 2)
            }
            if let ri, row[ri] != String(AttnSimVersion.modelRevision) {
                throw refuse("point \(p) was made by model revision \(row[ri]), this attnsim is model revision \(AttnSimVersion.modelRevision): its numbers come from other models (docs/robustness.md, \"Model revisions\")", at: n + 2)
            }
            out[p, default: []].append(row)
            if lineOf[p] == nil { lineOf[p] = n + 2 }
        }
        for p in out.keys.sorted() {
            let rows = out[p]!, e = points[p], line = lineOf[p]!
            func set(_ column: String) -> [String]? {
                index(column).map { c in rows.map { $0[c] }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } } }
            }
            if let want = e.traces, let have = set("trace"), Set(have) != Set(want) {
                throw refuse("point \(p) was run on traces \(have.joined(separator: ", ")); this run replays \(want.joined(separator: ", "))", at: line)
            }
            if let want = e.phases, let have = set("phase"), !Set(have).isSubset(of: want) {
                throw refuse("point \(p) has \(have.joined(separator: "+")) rows; this run's phases are \(want.joined(separator: "+"))", at: line)
            }
            for s in e.swept {
                if let c = index(s.path), let v = rows.first?[c], v != s.value {
                    throw refuse("point \(p) has \(s.path) = \(v); this run's point \(p) has \(s.value) (a changed sweep)", at: line)
                }
            }
            if let id = rows.first?[ci], id != e.configID {
                throw refuse("point \(p) has config_id \(id), this run's point \(p) is \(e.configID): the config differs outside the swept keys (the config file, a base: file or a --set)", at: line)
            }
            if let bad = rows.first(where: { $0[ci] != e.configID }) {
                throw refuse("point \(p) has rows with two config_ids (\(bad[ci]) and \(e.configID))", at: line)
            }
        }
        return out
    }
}

/// `attnsim merge`: combines shard CSVs of one sweep into one, in point order. Every file must have
/// the same columns and every row the same model revision; a (point, trace, phase, layer, kv_head)
/// row may appear once; with the sweep's config ids given, every point must be present with its own
/// config_id.
public enum SweepMerge {
    public static func merge(_ paths: [String], configIDs: [String]?) throws(AttnError) -> String {
        var header: [String]?
        var rowsByPoint: [Int: [[String]]] = [:]
        var seen: [String: String] = [:]
        var revision: (String, String)?
        for path in paths {
            let t = try CSVTable(path: path)
            if let h = header, h != t.columns {
                throw AttnError.input(file: path, item: nil, message: "its columns differ from \(paths[0])'s: not shards of one sweep")
            }
            header = t.columns
            let key = try ["point", "trace", "phase", "layer", "kv_head"].map { c throws(AttnError) in try t.columnIndex(c) }
            let ci = try t.columnIndex("config_id")
            let ri = t.columns.firstIndex(of: SweepOutput.revisionColumn)
            for (n, row) in t.rows.enumerated() {
                if let ri {
                    if let (r, at) = revision, r != row[ri] {
                        throw AttnError.input(file: "\(path):\(n + 2)", item: nil, message: "made by model revision \(row[ri]), \(at) by model revision \(r): shards of one sweep must come from one attnsim model revision")
                    }
                    if revision == nil { revision = (row[ri], "\(path):\(n + 2)") }
                }
                let k = key.map { row[$0] }.joined(separator: "\u{0}")
                if let other = seen[k] {
                    throw AttnError.input(file: "\(path):\(n + 2)", item: nil, message: "duplicate row for point \(row[key[0]]), \(row[key[1]]) \(row[key[2]]) (also in \(other))")
                }
                seen[k] = "\(path):\(n + 2)"
                guard let p = Int(row[key[0]]), p >= 0 else {
                    throw AttnError.input(file: "\(path):\(n + 2)", item: nil, message: "point '\(row[key[0]])' is not a point index")
                }
                if let ids = configIDs {
                    guard p < ids.count, ids[p] == row[ci] else {
                        throw AttnError.input(file: "\(path):\(n + 2)", item: nil, message: "point \(p) config_id \(row[ci]) does not match the sweep's (\(p < ids.count ? ids[p] : "no such point"))")
                    }
                }
                rowsByPoint[p, default: []].append(row)
            }
        }
        guard let header else { throw AttnError.usage(flag: nil, message: "no CSV files to merge") }
        if let ids = configIDs {
            let missing = (0..<ids.count).filter { rowsByPoint[$0] == nil }
            if !missing.isEmpty {
                let shown = missing.prefix(10).map(String.init).joined(separator: ", ")
                throw AttnError.input(file: paths.joined(separator: " "), item: nil, message: "\(missing.count) of \(ids.count) points missing (\(shown)\(missing.count > 10 ? ", ..." : ""))")
            }
        }
        var text = CSV.record(header)
        for p in rowsByPoint.keys.sorted() { for r in rowsByPoint[p]! { text += CSV.record(r) } }
        return text
    }
}
