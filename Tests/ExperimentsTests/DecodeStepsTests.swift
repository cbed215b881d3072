import AttnCore
import Foundation
import Testing
@testable import Experiments

/// `evaluation.decode_steps` (the last D replayed rows of a causal trace as decode steps) and the
/// decode-only replay (`phases: [decode]` computes the decode rows alone), against the trace's own
/// decode rows, traces re-labelled by hand, and hand counts of the decode accounting.
@Suite struct DecodeStepsTests {
    static var smollm2: String { TracePrefixTests.smollm2 }

    /// Every report column of each row (the on-chip and banked DRAM ones too), but the config_id.
    static func rows(_ yaml: String, in dir: URL) throws -> [[String: String]] {
        let path = dir.appendingPathComponent("c-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let header = ReportRow.header(sweptPaths: [], onChip: true, dram: true)
        return try Runner().run(try ExperimentLoader.load(path: path)).flatMap { try #require($0) }.map { row in
            var d = Dictionary(uniqueKeysWithValues: zip(header, row.fields(sweptPaths: [], onChip: true, dram: true)))
            d["config_id"] = nil
            return d
        }
    }

    /// (attention and hardware, whether Top-θ calibrates): dense, top-k, Top-θ on full_row and on
    /// tiled with the banked DRAM model.
    static let methods: [(String, Bool)] = [
        ("attention: {pruning: {kind: none}}", false),
        ("attention: {pruning: {kind: top_k, k: 8}}", false),
        ("attention: {pruning: {kind: top_theta, k: 8, denominator: exact, v_mean: true}}", true),
        ("attention: {pruning: {kind: top_theta, k: 8, v_mean: true}}\nhardware: {dataflow: tiled, dram: {model: banked}}", true),
    ]

    /// Method m with its calibration: Top-θ on sequence 0 of `trace` (nil: of the replayed one).
    static func method(_ m: Int, calibrationTrace trace: String? = nil) -> String {
        let (text, calibrates) = methods[m]
        let calibration = !calibrates ? "{sequences: []}" : trace.map { "{sequences: [0], trace: \($0)}" } ?? "{sequences: [0]}"
        return text + "\ncalibration: " + calibration + "\n"
    }

    /// (a) The trace's own 16 decode steps (48 prompt + 16 generated): decode_steps = 16, with and
    /// without positions = 64, decode-only, reports exactly the decode row of the plain replay that
    /// computes every row (prefill and decode reported).
    @Test(arguments: methods.indices)
    func realDecodeRowsUnchanged(_ m: Int) throws {
        let dir = try TracePrefixTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = "traces: [\(Self.smollm2)]\n" + Self.method(m)
        let plain = try Self.rows(common + "evaluation: {sequences: [1]}\n", in: dir)
        #expect(plain.map { $0["phase"] } == ["prefill", "decode"])
        let decode = try #require(plain.last)
        #expect(decode["rows"] == String(16 * 9 * 30), "decode rows = steps × heads × layers")
        for eval in ["{sequences: [1], decode_steps: 16}", "{sequences: [1], positions: 64, decode_steps: 16}", "{sequences: [1]}"] {
            let only = try Self.rows(common + "phases: [decode]\nevaluation: \(eval)\n", in: dir)
            #expect(only == [decode], "\(eval)")
        }
        // Both in one sweep: computed apart (decode rows only, then every row), the same decode row.
        let swept = try Self.rows(common + "evaluation: {sequences: [1], decode_steps: 16}\nsweep: {phases: [[decode], [prefill, decode]]}\n", in: dir)
        let unnumbered = { (rows: [[String: String]]) in rows.map { $0.filter { $0.key != "point" } } }
        #expect(swept.map { $0["point"] } == ["0", "1", "1"])
        #expect(unnumbered(swept) == unnumbered([decode] + plain))
    }

    /// Narrow accumulators: a decode-only replay reports its decode rows' Q·Kᵀ saturations under
    /// decode, a replay of every row all of them under prefill (docs/model.md); nothing else differs.
    @Test func saturationsCountWithTheFirstPhaseComputed() throws {
        let dir = try TracePrefixTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = "traces: [\(Self.smollm2)]\ncalibration: {sequences: []}\nevaluation: {sequences: [1]}\n"
            + "attention: {datapath: {q_bits: 8, k_bits: 8, v_bits: 8, acc_bits: 14}, pruning: {kind: none}}\n"
        let plain = try Self.rows(common, in: dir)
        let only = try #require(try Self.rows(common + "phases: [decode]\n", in: dir).first)
        let decode = try #require(plain.last)
        #expect(decode["saturation_events"] == "0")
        let saturated = try #require(only["saturation_events"].flatMap(Int.init))
        #expect(saturated > 0 && saturated < Int(plain[0]["saturation_events"] ?? "") ?? 0)
        #expect(only.filter { $0.key != "saturation_events" } == decode.filter { $0.key != "saturation_events" })
    }

    /// (b) The prompt's rows 32..<40 made decode steps (positions 40, decode_steps 8) report exactly
    /// what a trace recorded as a 32-token prompt plus 8 generated tokens (the same rows, labelled
    /// decode by the trace itself) reports for its decode phase.
    @Test(arguments: methods.indices)
    func promptRowsAsDecodeEqualRecordedDecode(_ m: Int) throws {
        let dir = try TracePrefixTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("cut")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        // Top-θ calibrates on sequence 0 of the relabelled trace in both runs.
        let relabelled = try TracePrefixTests.cut(Self.smollm2, sequences: [0, 1], positions: 40, prompt: 32, to: sub,
                                                  name: "smollm2-shakespeare.safetensors")
        let method = Self.method(m, calibrationTrace: Self.methods[m].1 ? relabelled : nil)
        let recorded = try Self.rows("traces: [\(relabelled)]\n" + method + "evaluation: {sequences: [1]}\n", in: dir)
        #expect(recorded.map { $0["phase"] } == ["prefill", "decode"])
        let asDecode = try Self.rows("traces: [\(Self.smollm2)]\n" + method + "phases: [decode]\n"
                                     + "evaluation: {sequences: [1], positions: 40, decode_steps: 8}\n", in: dir)
        #expect(asDecode == [try #require(recorded.last)])
        // Prefill and decode reported together: the same decode row, and the prefill row of 32 rows.
        let both = try Self.rows("traces: [\(Self.smollm2)]\n" + method
                                 + "evaluation: {sequences: [1], positions: 40, decode_steps: 8}\n", in: dir)
        #expect(both == recorded)
    }

    /// (b) Hand counts of the decode accounting, dense int8 (64-byte K and V rows, 64-byte bursts):
    /// one query row per step; with K and V buffers that hold the cache, a phase fetches the KV cache
    /// once and then one new row per step (the buffers keep a (layer, KV head)'s rows across its
    /// steps); with no buffers every step reads the whole cache again.
    @Test func decodeTrafficByHand() throws {
        let dir = try TracePrefixTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = "traces: [\(Self.smollm2)]\ncalibration: {sequences: []}\nphases: [decode]\n"
            + "attention: {datapath: {q_bits: 8, k_bits: 8, v_bits: 8}, pruning: {kind: none}}\n"
            + "evaluation: {sequences: [1], positions: 40, decode_steps: 8}\n"
        let groups = 30 * 3, rowBytes = 64, steps = 33...40
        let held = try #require(try Self.rows(common, in: dir).first)
        #expect(held["rows"] == String(8 * 9 * 30))
        #expect(held["query_tile_rows"] == "1")
        #expect(held["k_dram_bytes"] == String(groups * (33 + 7) * rowBytes))
        #expect(held["v_dram_bytes"] == String(groups * (33 + 7) * rowBytes))
        #expect(held["kv_dram_passes"].flatMap(Double.init) == 1)
        let streamed = try #require(try Self.rows(common + "hardware: {memory: {k_buffer_kib: 0}, v_fetch: {buffer_kib: 0}}\n", in: dir).first)
        #expect(streamed["k_dram_bytes"] == String(groups * steps.reduce(0, +) * rowBytes))
        #expect(streamed["v_dram_bytes"] == String(groups * steps.reduce(0, +) * rowBytes))
        // kv_dram_passes: the bytes moved over the bytes of the cache (40 rows of K and V).
        let passes = try #require(streamed["kv_dram_passes"].flatMap(Double.init))
        #expect(abs(passes - Double(steps.reduce(0, +)) / 40) < 1e-3, "\(passes)")
    }

    @Test func decodeStepErrors() throws {
        let dir = try TracePrefixTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = "traces: [\(Self.smollm2)]\ncalibration: {sequences: []}\n"
        func message(_ yaml: String) -> String {
            do {
                _ = try Self.rows(yaml, in: dir)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let tooMany = message(base + "evaluation: {positions: 40, decode_steps: 41}\n")
        #expect(tooMany.contains("evaluation.decode_steps") && tooMany.contains("exceeds evaluation.positions = 40") && tooMany.contains(".yaml"), "\(tooMany)")
        let zero = message(base + "evaluation: {decode_steps: 0}\n")
        #expect(zero.contains("decode_steps") && zero.contains(".yaml"), "\(zero)")
        let prefillOnly = message(base + "phases: [prefill]\nevaluation: {positions: 40, decode_steps: 8}\n")
        #expect(prefillOnly.contains("evaluation.decode_steps = 8") && prefillOnly.contains("does not report decode"), "\(prefillOnly)")
        let longer = message(base + "evaluation: {decode_steps: 65}\n")
        #expect(longer.contains("evaluation.decode_steps = 65 exceeds sequence 0's 64 positions") && longer.contains("smollm2-shakespeare"), "\(longer)")
        let minilm = EvalFixtures.root.appendingPathComponent("Traces/minilm-movie.safetensors").path
        let bidirectional = message("traces: [\(minilm)]\ncalibration: {sequences: []}\nevaluation: {decode_steps: 4}\n")
        #expect(bidirectional.contains("evaluation.decode_steps = 4 needs a causal trace"), "\(bidirectional)")
    }
}
