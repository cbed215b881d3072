import AttnCore
import Foundation

/// The CSV of a sweep as it runs: rows are kept by point and the file is rewritten atomically (temp
/// file + rename) at most every `flushInterval` seconds and at the end, so a killed or interrupted
/// sweep always leaves a valid CSV of every point finished so far — which `--resume` continues.
/// Rows are always written in point order, so the final file does not depend on scheduling.
public final class SweepOutput: @unchecked Sendable {
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

    /// Finished points of an earlier run of the same sweep in `path`, checked against the current
    /// expansion: the header must be identical and each point's config_id must match.
    public static func resume(path: String, header: [String], configIDs: [String]) throws(AttnError) -> [Int: [[String]]] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let table = try CSVTable(path: path)
        guard table.columns == header else {
            throw AttnError.input(file: path, item: nil, message: "cannot resume: its columns differ from this sweep's (a different config or attnsim version?); move it away or drop --resume")
        }
        let pi = try table.columnIndex("point"), ci = try table.columnIndex("config_id")
        var out: [Int: [[String]]] = [:]
        for (n, row) in table.rows.enumerated() {
            guard let p = Int(row[pi]), p >= 0, p < configIDs.count else {
                throw AttnError.input(file: "\(path):\(n + 2)", item: nil, message: "point '\(row[pi])' is not a point of this sweep (0..<\(configIDs.count))")
            }
            guard row[ci] == configIDs[p] else {
                throw AttnError.input(file: "\(path):\(n + 2)", item: nil, message: "point \(p) has config_id \(row[ci]) but this sweep's point \(p) is \(configIDs[p]): not the same sweep")
            }
            out[p, default: []].append(row)
        }
        return out
    }
}

/// `attnsim merge`: combines shard CSVs of one sweep into one, in point order. Every file must have
/// the same columns; a (point, trace, phase, layer, kv_head) row may appear once; with the sweep's
/// config ids given, every point must be present with its own config_id.
public enum SweepMerge {
    public static func merge(_ paths: [String], configIDs: [String]?) throws(AttnError) -> String {
        var header: [String]?
        var rowsByPoint: [Int: [[String]]] = [:]
        var seen: [String: String] = [:]
        for path in paths {
            let t = try CSVTable(path: path)
            if let h = header, h != t.columns {
                throw AttnError.input(file: path, item: nil, message: "its columns differ from \(paths[0])'s: not shards of one sweep")
            }
            header = t.columns
            let key = try ["point", "trace", "phase", "layer", "kv_head"].map { c throws(AttnError) in try t.columnIndex(c) }
            let ci = try t.columnIndex("config_id")
            for (n, row) in t.rows.enumerated() {
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
