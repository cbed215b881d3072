import AttnCore
import Foundation
import Testing
import TestSupport
@testable import Accelerator
@testable import Experiments

/// The config keys declared once (`ExperimentConfig.keys`, `EvalConfig.keys`, `HardwareConfig.keys`,
/// `DRAMConfig.keys`, `AttentionConfig.keys`): the committed
/// configs keep their config_ids, docs/config-reference.md shows the declarations, and a declaration
/// decodes, writes and reports what it says.
@Suite struct ConfigKeysTests {
    /// Every committed config: points, the first point's config_id, and the first 12 hex digits of
    /// SHA-256 over all the points' config_ids, one per line — as `attnsim sweep|eval CONFIG
    /// --print-config` printed them from the package root before the keys were declared once
    /// (main 4c0e1e4).
    static let pinned: [(path: String, points: Int, first: String, digest: String)] = [
        ("Configs/default.yaml", 1, "088ed2c79260", "8242002e62db"),
        ("Configs/eval-perplexity.yaml", 1, "c40879eddbb2", "a85a82d7d92b"),
        ("Configs/eval-sentiment.yaml", 1, "d912724cc8c7", "652d8d134365"),
        ("Configs/ji-minilm.yaml", 14, "7b9e76d61c32", "21ca6bf1ef73"),
        ("Configs/results/ji-sentiment.yaml", 21, "dd3e739af436", "1b71f4eb8e86"),
        ("Configs/results/decode-key-tiles.yaml", 6, "62ac56e2fe64", "5a217d9a2268"),
        ("Configs/results/hardware-view.yaml", 25, "81a19c2fec49", "f9c8ca444b19"),
        ("Configs/results/hardware-view-decode.yaml", 30, "c463ae55b0c9", "c763ae66a462"),
        ("Configs/results/long-context-2k-decode.yaml", 22, "5512a495c8f2", "8f7eade2056d"),
        ("Configs/results/long-context-2k-prefill.yaml", 22, "9b247f1f9d43", "7a90a4b0a80f"),
        ("Configs/results/long-context-4k-decode.yaml", 22, "e903ed31b9a1", "cb337926ef9f"),
        ("Configs/results/long-context-4k-prefill.yaml", 22, "e33d786f7479", "7e22a0bd0649"),
        ("Configs/results/long-context-8k-decode.yaml", 22, "8318ebba27c6", "e16bdddca39c"),
        ("Configs/results/long-context-8k-prefill.yaml", 8, "01a01396206c", "eabec158f266"),
        ("Configs/results/quant-perplexity.yaml", 9, "95a2c4e36b4e", "3ba5132ef8f5"),
        ("Configs/results/quant-sentiment.yaml", 9, "682a6d1e4696", "9532eb33acf5"),
        ("Configs/results/top-theta-perplexity.yaml", 20, "be4e9b68c7fe", "db079b3c9aa1"),
        ("Configs/results/topk-perplexity.yaml", 5, "efbd6834bb09", "f97171b007c4"),
        ("Configs/sweep-1000-dram.yaml", 1000, "d4abf116a5ff", "2b61b19daf20"),
        ("Configs/sweep-1000.yaml", 1000, "8e3d3acd6d9c", "bfb8c78ab302"),
        ("Configs/sweep-small.yaml", 18, "95cd2d091e88", "8f87d109c892"),
        ("Configs/threshold-buckets.yaml", 6, "80592d8f2d62", "d89baff476cb"),
        ("Configs/tiled-dram.yaml", 4, "6c8d2db734ae", "82f652f76d91"),
        ("Configs/top-theta-smollm2.yaml", 5, "cad9b7b4ff83", "0e9264c7207e"),
        ("Tests/Fixtures/dram/top-theta-decode.yaml", 1, "6735930d00af", "16367e5f8153"),
        ("Tests/Fuzz/corpus/config/default.yaml", 1, "3b28edde9f4f", "9e151793696a"),
        ("Tests/Fuzz/corpus/config/ji-minilm.yaml", 14, "a2ff91a7a134", "d963f383b7fc"),
        ("Tests/Fuzz/corpus/config/sweep-1000.yaml", 1000, "65c3767476cd", "367a6989164b"),
        ("Tests/Fuzz/corpus/config/sweep-small.yaml", 18, "937f455cb7de", "7d9ac0e3ea73"),
        ("Tests/Fuzz/corpus/config/top-theta-smollm2.yaml", 5, "10005683024a", "e7465a86e251"),
    ]

    /// The config_ids of `path` (relative to the package root) as the CLI run from the root makes
    /// them: paths in a config are joined to the config's directory as given, so the ids depend on it.
    static func configIDs(_ path: String) throws -> [String] {
        let doc = try ConfigLoader.load(path: TestPaths.packageRoot.appendingPathComponent(path).path)
        let base = (path as NSString).deletingLastPathComponent
        return try ConfigSweep.expand(doc, maxPoints: 100_000).map { p in
            doc["eval"] != nil ? try EvalConfig(from: p.config, baseDirectory: base).configID
                               : try ExperimentConfig(from: p.config, baseDirectory: base).configID
        }
    }

    @Test(arguments: pinned.map(\.path))
    func committedConfigsKeepTheirIDs(_ path: String) throws {
        let pin = try #require(Self.pinned.first { $0.path == path })
        let ids = try Self.configIDs(path)
        #expect(ids.count == pin.points)
        #expect(ids.first == pin.first)
        let digest = String(SHA256Hash.hex(Array(ids.map { $0 + "\n" }.joined().utf8)).prefix(12))
        #expect(digest == pin.digest, "config_ids of \(path) changed")
    }

    @Test func everyCommittedConfigIsPinned() throws {
        let root = TestPaths.packageRoot
        var found: [String] = []
        for dir in ["Configs", "Tests/Fixtures", "Tests/Fuzz/corpus/config"] {
            let e = FileManager.default.enumerator(atPath: root.appendingPathComponent(dir).path)
            while let f = e?.nextObject() as? String { if f.hasSuffix(".yaml") { found.append(dir + "/" + f) } }
        }
        let unpinned = Set(found).subtracting(Self.pinned.map(\.path)).subtracting(["Tests/Fuzz/corpus/config/flow.yaml"])
        #expect(unpinned.isEmpty, "configs without pinned config_ids: \(unpinned.sorted())")
    }

    /// The generated key tables: (doc, marker name, table). docs/config-reference.md has the
    /// top-level, `hardware:`, `hardware.dram:` and `attention:` keys, docs/eval.md the `eval:` keys.
    static let tables: [(doc: String, name: String, table: String)] = [
        ("docs/config-reference.md", "top level", ConfigSchema.markdownTable(ExperimentConfig.keys)),
        ("docs/config-reference.md", "eval top level", ConfigSchema.markdownTable(EvalConfig.keys)),
        ("docs/config-reference.md", "hardware", ConfigSchema.markdownTable(HardwareConfig.keys)),
        ("docs/config-reference.md", "hardware.dram", ConfigSchema.markdownTable(DRAMConfig.keys)),
        ("docs/config-reference.md", "attention", ConfigSchema.markdownTable(AttentionConfig.keys)),
        ("docs/eval.md", "eval", ConfigSchema.markdownTable(EvalConfig.commonKeys)),
        ("docs/eval.md", "eval sentiment", ConfigSchema.markdownTable(EvalConfig.sentimentKeys)),
        ("docs/eval.md", "eval language_model", ConfigSchema.markdownTable(EvalConfig.languageModelKeys)),
    ]

    /// The docs' key tables are the declarations rendered; `ATTNSIM_UPDATE_DOCS=1` rewrites them.
    @Test(arguments: Set(tables.map(\.doc)).sorted())
    func referenceTablesMatchTheDeclarations(_ doc: String) throws {
        let url = TestPaths.packageRoot.appendingPathComponent(doc)
        var text = try String(contentsOf: url, encoding: .utf8)
        var updated = text
        for (_, name, table) in Self.tables.filter({ $0.doc == doc }) {
            let open = "<!-- keys: \(name) -->\n", close = "<!-- end keys -->"
            let start = try #require(updated.range(of: open), "\(doc) has no '\(open)' marker")
            let end = try #require(updated.range(of: close, range: start.upperBound..<updated.endIndex))
            updated.replaceSubrange(start.upperBound..<end.lowerBound, with: table)
        }
        if updated != text && ProcessInfo.processInfo.environment["ATTNSIM_UPDATE_DOCS"] == "1" {
            try updated.write(to: url, atomically: true, encoding: .utf8)
            text = updated
        }
        #expect(updated == text, "\(doc) differs from the key declarations; run ATTNSIM_UPDATE_DOCS=1 swift test --filter ConfigKeysTests")
    }

    @Test func declaredPathsAreUniqueExceptVariants() {
        func repeated(_ paths: [String]) -> [String] {
            Dictionary(paths.map { ($0, 1) }, uniquingKeysWith: +).filter { $0.value > 1 }.keys.sorted()
        }
        #expect(repeated(HardwareConfig.keys.map(\.path)).isEmpty)
        #expect(repeated(DRAMConfig.keys.map(\.path)).isEmpty)
        #expect(repeated(ExperimentConfig.keys.map(\.path)).isEmpty)
        #expect(repeated(EvalConfig.keys.map(\.path)).isEmpty)
        #expect(repeated(EvalConfig.evalKeys.map(\.path)).isEmpty)
        var seen: [String: Int] = [:]
        for k in AttentionConfig.keys { seen[k.path, default: 0] += 1 }
        // probabilities.bits is declared per variant (log/log_pow2: 1...12, default 3; uniform: 1...16, default 8).
        #expect(seen.filter { $0.value > 1 }.keys.sorted() == ["probabilities.bits"])
    }

    /// A declaration's default, range, omission and variant rules do what they say.
    @Test func declarationsDecodeWriteAndReport() throws {
        func hardware(_ yaml: String) throws -> HardwareConfig {
            try HardwareConfig(from: try ConfigReader(try ConfigParser.parse(yaml, file: "h.yaml"), path: "hardware"))
        }
        func attention(_ yaml: String) throws -> AttentionConfig {
            try AttentionConfig(from: try ConfigReader(try ConfigParser.parse(yaml, file: "a.yaml"), path: "attention"))
        }
        #expect(try hardware("array: {rows: 64}").array.rows == 64)
        // sram_stage's default follows dataflow; written only when it differs from that default.
        #expect(try hardware("dataflow: tiled").memory.sramStage)
        #expect(try hardware("dataflow: tiled").configNode["memory"]?["sram_stage"] == nil)
        #expect(try hardware("dataflow: tiled\nmemory: {sram_stage: false}").configNode["memory"]?["sram_stage"] == .bool(false))
        #expect(try hardware("{}").configNode["dataflow"] == nil)
        #expect(try hardware("dataflow: tiled").configNode["dataflow"] == .string("tiled"))
        do {
            _ = try hardware("array:\n  rows: 0\n")
            Issue.record("rows: 0 accepted")
        } catch {
            #expect("\(error)" == "h.yaml:2:9: hardware.array.rows: expected an integer in 1...65536, got 0")
        }
        // Variant keys: written for their variant only, defaults of the variant.
        let u = try attention("probabilities: {quantization: uniform}")
        #expect(u.probabilityQuantization == .uniform(bits: 8))
        #expect(u.configNode["probabilities"] == .mapping([("quantization", .string("uniform")), ("bits", .int(8))]))
        do {
            _ = try attention("probabilities: {quantization: log, bits: 13}")
            Issue.record("bits: 13 accepted for log")
        } catch {
            #expect("\(error)".hasSuffix("attention.probabilities.bits: expected an integer in 1...12, got 13"))
        }
        #expect(try attention("probabilities: {quantization: uniform, bits: 13}").probabilityQuantization == .uniform(bits: 13))
        do {
            _ = try attention("pruning: {kind: top_k, k: 4, placement: scores}")
            Issue.record("placement accepted for top_k")
        } catch {
            #expect("\(error)".hasSuffix("attention.pruning.placement: unknown key (allowed: kind, k)"))
        }
        // Ignored keys of another variant are accepted and not written.
        let f = try attention("softmax: {arithmetic: float, input_frac_bits: 3, zeta: 2}")
        #expect(f.configNode["softmax"] == .mapping([("arithmetic", .string("float")), ("clipped", .bool(false))]))
    }

    /// The top-level, `eval:` and `hardware.dram:` declarations: paths joined to the config's
    /// directory, the canonical order kept, located errors, another task's keys unknown, DRAM keys
    /// defaulting to the preset's.
    @Test func topLevelEvalAndDRAMDeclarations() throws {
        func parse(_ yaml: String) throws -> ConfigNode { try ConfigParser.parse(yaml, file: "c.yaml") }
        func error(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        let e = try ExperimentConfig(from: try parse("traces: [t.safetensors]\nevaluation: {sequences: [1]}\n"), baseDirectory: "/cfg")
        #expect(e.traces == ["/cfg/t.safetensors"])
        #expect(e.node["evaluation"] == .mapping([("allow_nonfinite", .bool(false)), ("sequences", .sequence([.int(1)]))]))
        #expect(e.node["calibration"] == .mapping([("sequences", .sequence([.int(0)]))]))
        #expect(error { _ = try ExperimentConfig(from: try parse("phases: [prefill]\n"), baseDirectory: ".") }
            .hasSuffix("missing 'traces': a list of trace files (.safetensors) to replay"))
        #expect(error { _ = try ExperimentConfig(from: try parse("traces: [t]\nphases: [prefil]\n"), baseDirectory: ".") }
            .hasSuffix("phases: expected prefill and/or decode, got 'prefil'"))
        #expect(error { _ = try ExperimentConfig(from: try parse("traces: [t]\ncalibration: {sequences: [1]}\nevaluation: {sequences: [1]}\n"), baseDirectory: ".") }
            .hasSuffix("evaluation.sequences: sequence 1 is also a calibration sequence; calibration and evaluation must be disjoint"))
        #expect(error { _ = try ExperimentConfig(from: try parse("traces: [t]\ntrace: [u]\n"), baseDirectory: ".") }
            .contains("trace: unknown key; did you mean 'traces'?"))

        let lm = try EvalConfig(from: try parse("eval: {task: language_model, model: m.gguf, texts: [a.txt], modes: [decode, decode]}\n"),
                                baseDirectory: "/cfg")
        #expect(lm.model == "/cfg/m.gguf" && lm.languageModel.texts == ["/cfg/a.txt"] && lm.languageModel.modes == [.decode])
        // eval: is written as given (config_ids of eval configs hash the section as written).
        #expect(lm.node["eval"]?["modes"]?.items?.count == 2)
        let unknown = error { _ = try EvalConfig(from: try parse("eval: {task: sentiment, model: m, data: d, head: h, tokens: 5}\n"), baseDirectory: ".") }
        #expect(unknown.contains("eval.tokens: unknown key") && unknown.hasSuffix("(allowed: task, model, data, head, seed, test_sentences, train_sentences, min_abs_rating, max_tokens, calibration_sentences, batch, l2)"), "\(unknown)")
        #expect(error { _ = try EvalConfig(from: try parse("hardware: {}\n"), baseDirectory: ".") }.contains("missing 'eval'"))

        func dram(_ yaml: String) throws -> DRAMConfig {
            try HardwareConfig(from: try ConfigReader(try parse(yaml), path: "hardware")).dram
        }
        let d = try dram("dram: {model: banked, preset: hbm2, structure: {channels: 4}}\n")
        #expect(d.spec.channels == 4 && d.spec.rows == DRAMPreset.hbm2.spec.rows && d.spec.tCL == DRAMPreset.hbm2.spec.tCL)
        #expect(d.configNode?["structure"]?["channels"] == .int(4))
        #expect(d.configNode?["mapping"] == .string(DRAMPreset.hbm2.defaultMapping.text))
        #expect(try dram("dram: {structure: {channels: 4}}\n").configNode == nil)
        #expect(error { _ = try dram("dram: {structure: {channels: 3}}\n") }
            .hasSuffix("hardware.dram.structure.channels: expected a power of two (the address mapping gives it a bit field), got 3"))
        #expect(error { _ = try dram("dram: {timing: {tras: 1}}\n") }.contains("hardware.dram.timing.tras: tRAS = 1 is shorter than tRCD"))
        #expect(error { _ = try dram("dram: {mapping: rochrababg}\n") }.contains("hardware.dram.mapping: "))
    }
}
