import AttnCore
import Foundation
import Testing
@testable import Experiments

/// `evaluation.positions` (replay a causal trace's first N positions) and `calibration.trace`
/// (calibrate Top-θ on another trace), against traces cut and split by hand.
@Suite struct TracePrefixTests {
    static var smollm2: String { EvalFixtures.root.appendingPathComponent("Traces/smollm2-shakespeare.safetensors").path }

    /// Writes `sequences` of `source`, each cut to its first `positions` rows (prompt_tokens cut
    /// too, or set to `prompt`), as `dir/name`.
    static func cut(_ source: String, sequences: [Int], positions: Int?, prompt: Int? = nil, to dir: URL, name: String) throws -> String {
        let r = try TraceReader(path: source)
        var m = r.metadata
        let lengths = sequences.map { min(positions ?? r.lengths[$0], r.lengths[$0]) }
        m.promptTokens = zip(sequences, lengths).map { min(prompt ?? r.metadata.promptTokens[$0], $1) }
        var w = TraceWriter(metadata: m)
        for (new, (s, n)) in zip(sequences, lengths).enumerated() {
            w.addTokens(sequence: new, Array(try r.tokens(sequence: s).prefix(n)))
            for l in 0..<m.layers {
                let d = try r.layer(sequence: s, layer: l), t = d.tokens, hd = m.headDim
                func prefix(_ x: [Float], _ heads: Int) -> [Float] {
                    (0..<heads).flatMap { h in x[(h * t * hd)..<((h * t + n) * hd)] }
                }
                w.addLayer(sequence: new, layer: l, tokens: n, q: prefix(d.q, m.heads), k: prefix(d.k, m.kvHeads), v: prefix(d.v, m.kvHeads))
            }
        }
        let path = dir.appendingPathComponent(name).path
        try w.write(to: path)
        return path
    }

    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-prefix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func rows(_ yaml: String, in dir: URL) throws -> [[String: String]] {
        let path = dir.appendingPathComponent("c-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let points = try ExperimentLoader.load(path: path)
        let header = ReportRow.header(sweptPaths: [])
        return try Runner().run(points).flatMap { try #require($0) }.map { row in
            var d = Dictionary(uniqueKeysWithValues: zip(header, row.fields(sweptPaths: [])))
            d["config_id"] = nil
            return d
        }
    }

    /// The first N positions replayed equal a trace holding only those N positions: prefill only
    /// (N inside the prompt) and prefill + decode (N past it), pruned and dense, both dataflows.
    @Test(arguments: [(40, "top_k"), (56, "top_k"), (56, "none"), (40, "tiled")])
    func prefixEqualsCutTrace(_ n: Int, _ kind: String) throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("cut")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let cut = try Self.cut(Self.smollm2, sequences: [0, 1], positions: n, to: sub, name: "smollm2-shakespeare.safetensors")
        let attention = kind == "tiled" ? "hardware: {dataflow: tiled}"
            : kind == "none" ? "attention: {pruning: {kind: none}}" : "attention: {pruning: {kind: \(kind), k: 8}}"
        let common = "calibration: {sequences: []}\n\(attention)\n"
        let replayed = try Self.rows("traces: [\(Self.smollm2)]\nevaluation: {sequences: [1], positions: \(n)}\n" + common, in: dir)
        let expected = try Self.rows("traces: [\(cut)]\nevaluation: {sequences: [1]}\n" + common, in: dir)
        #expect(replayed.count == (n > 48 ? 2 : 1))
        #expect(replayed == expected)
        #expect(replayed.first?["rows"] == String(9 * 30 * min(n, 48)), "prefill rows = heads × layers × prefill positions")
    }

    @Test func prefixErrors() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: AttnError.self) { try Self.rows("traces: [\(Self.smollm2)]\ncalibration: {sequences: []}\nevaluation: {positions: 65}\n", in: dir) }
        do {
            _ = try Self.rows("traces: [\(Self.smollm2)]\ncalibration: {sequences: []}\nevaluation: {positions: 65}\n", in: dir)
        } catch {
            #expect("\(error)".contains("evaluation.positions = 65 exceeds sequence 0's 64 positions"), "\(error)")
        }
        let minilm = EvalFixtures.root.appendingPathComponent("Traces/minilm-movie.safetensors").path
        do {
            _ = try Self.rows("traces: [\(minilm)]\ncalibration: {sequences: []}\nevaluation: {positions: 4}\n", in: dir)
            Issue.record("a prefix of a bidirectional trace was accepted")
        } catch {
            #expect("\(error)".contains("needs a causal trace"), "\(error)")
        }
        do {
            _ = try Self.rows("traces: [\(Self.smollm2)]\ncalibration: {sequences: []}\nevaluation: {positions: 0}\n", in: dir)
            Issue.record("positions 0 was accepted")
        } catch {
            #expect("\(error)".contains("positions"), "\(error)")
        }
    }

    /// Top-θ calibrated on sequence 0 of the trace and evaluated on sequence 1 equals Top-θ on a
    /// trace holding sequence 1 alone with `calibration.trace` = the original trace; with a prefix too.
    @Test(arguments: [nil, 44] as [Int?])
    func calibrationTraceEqualsInTraceCalibration(_ positions: Int?) throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("one")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let one = try Self.cut(Self.smollm2, sequences: [1], positions: nil, to: sub, name: "smollm2-shakespeare.safetensors")
        let pos = positions.map { ", positions: \($0)" } ?? ""
        let attention = "attention: {pruning: {kind: top_theta, k: 8, denominator: exact, v_mean: true}}\n"
        let inTrace = try Self.rows("traces: [\(Self.smollm2)]\ncalibration: {sequences: [0]}\nevaluation: {sequences: [1]\(pos)}\n" + attention, in: dir)
        let other = try Self.rows("traces: [\(one)]\ncalibration: {sequences: [0], trace: \(Self.smollm2)}\nevaluation: {sequences: [0]\(pos)}\n" + attention, in: dir)
        #expect(inTrace.count == (positions == nil ? 2 : 1))
        // The replayed sequence is 1 in one trace and 0 in the other: its index shows in the
        // evaluated list and in the worst head's name only.
        for (a, b) in zip(inTrace, other) {
            var a = a, b = b
            for key in ["sequences", "calibration_sequences", "worst_head"] { a[key] = nil; b[key] = nil }
            #expect(a == b)
            #expect(Double(a["kept_fraction"] ?? "") ?? 1 < 1, "Top-θ pruned something")
        }
        // Default evaluation with calibration.trace: every sequence of the replayed trace.
        let all = try Self.rows("traces: [\(Self.smollm2)]\ncalibration: {sequences: [0], trace: \(one)}\n" + attention, in: dir)
        #expect(all.first?["sequences"] == "0 1", "\(all.first ?? [:])")
        do {
            _ = try Self.rows("traces: [\(one)]\ncalibration: {sequences: [0], trace: \(Self.smollm2), thresholds: x.safetensors}\n" + attention, in: dir)
            Issue.record("calibration.trace with calibration.thresholds was accepted")
        } catch {
            #expect("\(error)".contains("not both"), "\(error)")
        }
        let minilm = EvalFixtures.root.appendingPathComponent("Traces/minilm-movie.safetensors").path
        do {
            _ = try Self.rows("traces: [\(one)]\ncalibration: {sequences: [0], trace: \(minilm)}\n" + attention, in: dir)
            Issue.record("a calibration trace of another shape was accepted")
        } catch {
            #expect("\(error)".contains("thresholds are per (layer, head)"), "\(error)")
        }
    }
}
