import AttnCore
import Foundation

/// A deterministic fuzzer over the command line and the config schema, run against the built
/// `attnsim` binary. Case `i` of seed `s` is always the same argument vector and the same files.
///
/// Each case picks a command and fills its flags and (for configs) its keys with values within and
/// just outside the documented ranges: 0, 1, max, max + 1, huge, negative, NaN, inf, empty lists,
/// bad paths, output paths that are inputs, devices or directories. A case fails on any signal, an
/// exit status other than 0/1/2, stderr that is not exactly one line for status 2, any file left in
/// the case directory by a failed run (output, lock or temporary file), or an input file changed.
struct CLIFuzzer {
    /// Draws from the project's SplitMix64: small, fast and the same on every platform.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
        mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
    }

    struct Case {
        var args: [String]
        /// Files to create in the case directory (name → contents) before the run.
        var files: [String: String] = [:]
        var description: String { args.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ") }
    }

    /// A documented integer range and the values around its edges.
    static func intValues(_ lo: Int, _ hi: Int, _ r: inout Random) -> String {
        // Half the time a valid value (an edge or a small one inside), so runs get past validation.
        if r.chance(0.5) { return r.pick(["\(lo)", "\(hi)", "\(min(hi, lo + 1))", "\(min(hi, max(lo, 8)))", "\(lo + r.int(max(1, min(hi - lo, 64))))"]) }
        let edges: [String] = ["\(lo)", "\(lo - 1)", "\(hi)", "\(hi &+ 1)", "1", "0", "-1", "2",
                               "\(Int.max)", "\(Int.min)", "99999999999999999999999", "nan", "inf", "-inf", "",
                               "1.5", "1e3", "0x10", " 7", "abc", "\(lo + r.int(max(1, min(hi - lo, 1 << 20))))"]
        return r.pick(edges)
    }

    static func doubleValues(_ lo: Double, _ hi: Double, _ r: inout Random) -> String {
        if r.chance(0.5) { return r.pick(["\(lo)", "\(hi)", "\(lo + (hi - lo) * 0.25)", "\(min(hi, max(lo, 1)))"]) }
        let edges: [String] = ["\(lo)", "\(hi)", "\(hi * 2 + 1)", "\(lo - 1)", "0", "-0.0", "1", "-1", "nan", ".nan", "inf", ".inf",
                               "-.inf", "1e308", "1e-320", "1e999", "", "abc", "\(lo + (hi - lo) * 0.5)"]
        return r.pick(edges)
    }

    /// Config keys with their documented ranges (docs/config-reference.md).
    enum Key {
        case int(String, Int, Int)
        case double(String, Double, Double)
        case choice(String, [String])
        case bool(String)
        case ints(String, Int, Int)
    }

    static let keys: [Key] = [
        .double("hardware.clock_ghz", 0.001, 100), .int("hardware.query_tile_rows", 0, 1_048_576),
        .int("hardware.array.rows", 1, 65_536), .int("hardware.array.cols", 1, 65_536),
        .choice("hardware.array.dataflow", ["os", "ws", "is"]), .choice("hardware.array.schedule", ["scalesim", "overlapped"]),
        .int("hardware.comparator.lanes", 1, 65_536), .int("hardware.top_k.lanes", 1, 65_536),
        .int("hardware.softmax.lanes", 1, 65_536), .int("hardware.softmax.lut_entries", 2, 1_048_576),
        .choice("hardware.softmax.exp", ["lut", "exact", "bogus"]), .int("hardware.quantizer.lanes", 1, 65_536),
        .double("hardware.v_fetch.buffer_kib", 0, 1_048_576), .bool("hardware.v_fetch.sparse"),
        .choice("hardware.v_fetch.index", ["bitmask", "list", "bogus"]),
        .double("hardware.memory.dram_bytes_per_cycle", 0.001, 1_000_000), .int("hardware.memory.dram_latency_cycles", 0, 1_000_000),
        .int("hardware.memory.burst_bytes", 1, 1_048_576), .double("hardware.memory.sram_bytes_per_cycle", 0.001, 1_000_000),
        .double("hardware.memory.q_buffer_kib", 0.001, 1_048_576), .double("hardware.memory.k_buffer_kib", 0, 1_048_576),
        .double("hardware.memory.score_buffer_kib", 0.001, 1_048_576), .double("hardware.memory.out_buffer_kib", 0.001, 1_048_576),
        .bool("hardware.memory.double_buffered"),
        .double("hardware.energy.mult8_pj", 0, 1e6), .double("hardware.energy.dram_pj_per_byte", 0, 1e9),
        .double("hardware.energy.leakage_mw_per_mm2", 0, 1e6),
        .int("attention.datapath.q_bits", 0, 16), .int("attention.datapath.k_bits", 0, 16), .int("attention.datapath.v_bits", 0, 16),
        .int("attention.datapath.peg_groups", 1, 1024), .double("attention.datapath.range_percentile", 50, 100),
        .int("attention.datapath.acc_bits", 8, 64), .choice("attention.datapath.granularity", ["tensor", "head", "peg", "bogus"]),
        .choice("attention.datapath.rounding", ["nearest", "truncate", "bogus"]),
        .choice("attention.softmax.arithmetic", ["float", "fixed", "bogus"]),
        .int("attention.softmax.input_frac_bits", 1, 24), .int("attention.softmax.output_frac_bits", 2, 30),
        .choice("attention.pruning.kind", ["none", "probability", "top_theta", "top_k", "bogus"]),
        .int("attention.pruning.k", 1, 1_000_000), .double("attention.pruning.threshold", 0, 1),
        .int("attention.pruning.dense_layers", 0, 4096), .double("attention.pruning.std_factor", -10, 10),
        .choice("attention.probability.quantization", ["none", "log", "log_pow2", "uniform", "bogus"]),
        .int("attention.probability.bits", 1, 16), .double("attention.probability.threshold", 1e-12, 0.5),
        .ints("calibration.sequences", 0, 1_000_000), .ints("evaluation.sequences", 0, 1_000_000),
        .bool("evaluation.allow_nonfinite"), .choice("phases", ["[prefill]", "[decode]", "[prefill, decode]", "[]", "[bogus]"]),
        .choice("traces", ["[tiny.safetensors]", "[]", "[missing.safetensors]", "[.]", "[/dev/zero]", "[c.yaml]", "[tiny.safetensors, tiny.safetensors]"]),
        .choice("calibration.thresholds", ["missing.safetensors", "tiny.safetensors", "c.yaml", "''"]),
    ]

    static func value(of key: Key, _ r: inout Random) -> (path: String, value: String) {
        switch key {
        case let .int(p, lo, hi): return (p, intValues(lo, hi, &r))
        case let .double(p, lo, hi): return (p, doubleValues(lo, hi, &r))
        case let .choice(p, values): return (p, r.chance(0.9) ? r.pick(values) : r.pick(["", "1", "[]", "{}", "null"]))
        case let .bool(p): return (p, r.pick(["true", "false", "yes", "1", "", "null"]))
        case let .ints(p, lo, hi):
            let n = r.pick([0, 1, 1, 2, 3])
            return (p, "[" + (0..<n).map { _ in r.chance(0.8) ? "\(r.int(3))" : intValues(lo, hi, &r) }.joined(separator: ", ") + "]")
        }
    }

    /// A config: the tiny trace, a few keys set (possibly out of range), maybe a small sweep or a base.
    static func config(_ r: inout Random, sweep: Bool) -> String {
        var entries: [(path: [String], value: String)] = [(["traces"], "[tiny.safetensors]")]
        if r.chance(0.2) { entries.append((["base"], r.pick(["base.yaml", "missing.yaml", "c.yaml", "."]))) }
        func free(_ p: String) -> Bool {
            !entries.contains { e in let a = e.path.joined(separator: "."); return a.hasPrefix(p) || p.hasPrefix(a) }
        }
        for _ in 0..<r.int(4) {
            let (p, v) = value(of: r.pick(keys), &r)
            if free(p) { entries.append((p.split(separator: ".").map(String.init), v.isEmpty ? "''" : v)) }
        }
        var text = render(entries)
        if sweep {
            let (p, _) = value(of: r.pick(keys), &r)
            if free(p) {
                let n = r.pick([0, 1, 2, 3])
                let ints = keys.filter { k in if case .int = k { return true }; return false }
                let vs = (0..<n).map { _ in value(of: r.pick(ints), &r).value }
                text += "sweep:\n  \(p): [\(vs.map { $0.isEmpty ? "''" : $0 }.joined(separator: ", "))]\n"
            }
        }
        return text
    }

    /// Dotted paths as nested block mappings (shared prefixes merged).
    static func render(_ entries: [(path: [String], value: String)], indent: String = "") -> String {
        var text = ""
        var done: Set<String> = []
        for e in entries where !done.contains(e.path[0]) {
            done.insert(e.path[0])
            let group = entries.filter { $0.path[0] == e.path[0] }
            if group.count == 1 && e.path.count == 1 {
                text += "\(indent)\(e.path[0]): \(e.value)\n"
            } else {
                text += "\(indent)\(e.path[0]):\n" + render(group.map { (Array($0.path.dropFirst()), $0.value) }, indent: indent + "  ")
            }
        }
        return text
    }

    static let outputs = ["out.x", "out.x", "out.x", "out.x", "out.x", "out.x", "out.x", "out.x", "out.x", "out.x", "out.x", "out.x", "-", "c.yaml", "tiny.safetensors", "in.csv", "link-to-config", "hard-to-trace",
                          "/dev/null", "fifo", ".", "missing-dir/out.x", ""]

    static func out(_ r: inout Random) -> String { r.pick(outputs) }

    static func setFlags(_ r: inout Random) -> [String] {
        var a: [String] = []
        for _ in 0..<r.pick([0, 0, 1, 2]) {
            let (p, v) = value(of: r.pick(keys), &r)
            a += ["--set", r.chance(0.95) ? "\(p)=\(v)" : r.pick(["", "=", "x", "a..b=1", "hardware=1", "sweep.x=1"])]
        }
        return a
    }

    /// Case `index` of `seed`.
    static func makeCase(seed: UInt64, index: Int) -> Case {
        var r = Random(state: seed &* 0x2545_F491_4F6C_DD1D ^ UInt64(index))
        _ = r.next()
        var c = Case(args: [])
        c.files["c.yaml"] = config(&r, sweep: false)
        c.files["base.yaml"] = "hardware: {array: {rows: 8}}\n"
        switch r.int(14) {
        case 0, 1:
            let dims = ["--m": (1, 1 << 40), "--k": (1, 1 << 40), "--n": (1, 1 << 40), "--rows": (1, 1 << 20), "--cols": (1, 1 << 20),
                        "--a-bits": (1, 64), "--b-bits": (1, 64), "--out-bits": (1, 64)]
            c.args = ["gemm"]
            for (flag, range) in dims.sorted(by: { $0.key < $1.key }) where r.chance(flag.count == 3 ? 0.95 : 0.4) {
                c.args += [flag, r.chance(0.5) ? "\(1 + r.int(r.pick([4, 100, 1 << 20, 1 << 40])))" : intValues(range.0, range.1, &r)]
            }
            if r.chance(0.5) { c.args += ["--dataflow", r.pick(["os", "ws", "is", "xs", ""])] }
            if r.chance(0.3) { c.args += ["--schedule", r.pick(["scalesim", "overlapped", "x"])] }
            if r.chance(0.3) { c.args.append("--csv") }
        case 2, 3, 4:
            c.args = ["run", r.chance(0.9) ? "c.yaml" : r.pick(["missing.yaml", ".", "/dev/zero", "tiny.safetensors", "binary.txt"]), "--out", out(&r), "--quiet"]
            if r.chance(0.3) { c.args += ["--detail", r.pick(["summary", "layer", "head", "bogus"])] }
            c.args += setFlags(&r)
        case 5, 6:
            c.files["c.yaml"] = config(&r, sweep: true)
            c.args = ["sweep", "c.yaml", "--out", out(&r), "--quiet"]
            if r.chance(0.3) { c.args += ["--max-points", intValues(1, Int.max, &r)] }
            if r.chance(0.3) { c.args += ["--shard", r.pick(["0/1", "1/2", "2/2", "-1/2", "0/0", "x", "0/99999999999999999999"])] }
            if r.chance(0.3) { c.args += ["--detail", r.pick(["summary", "layer", "head", "bogus"])] }
            if r.chance(0.2) { c.args.append("--resume") }
            c.args += setFlags(&r)
        case 7:
            c.args = ["calibrate", "c.yaml", "--out", out(&r)] + setFlags(&r)
            if r.chance(0.7) { c.args += ["--set", "attention.pruning={kind: top_theta, k: \(intValues(1, 1_000_000, &r))}"] }
        case 8:
            c.args = ["inspect", r.pick(["tiny.safetensors", ".", "/dev/zero", "missing", "c.yaml", "in.csv", "binary.txt", ""])]
            if r.chance(0.2) { c.args.append("--allow-nonfinite") }
        case 9:
            c.args = ["plot", r.pick(["in.csv", "in.csv", "missing.csv", ".", "/dev/zero", "binary.txt", "c.yaml"]),
                      "--x", r.pick(["config_id", "cycles", "energy_pj", "nope", ""]), "--y", r.pick(["cycles", "rel_l2_error", "phase", ""]),
                      "--out", out(&r)]
            if r.chance(0.3) { c.args += ["--color", r.pick(["phase", "layer", "nope"])] }
            if r.chance(0.3) { c.args += ["--where", r.pick(["phase=prefill", "phase", "=", "nope=1"])] }
            if r.chance(0.2) { c.args.append(r.pick(["--log-x", "--log-y"])) }
        case 10:
            c.args = ["table", r.pick(["in.csv", "missing.csv", ".", "/dev/zero", "binary.txt"]),
                      "--columns", r.pick(["cycles,phase", "config_id", "", ",", "nope"]), "--out", out(&r)]
            if r.chance(0.4) { c.args += ["--digits", intValues(1, 17, &r)] }
        case 11:
            c.args = ["merge", r.pick(["in.csv", "missing.csv", "/dev/zero"]), r.pick(["in.csv", "in2.csv", "c.yaml"]), "--out", out(&r)]
            if r.chance(0.3) { c.args += ["--config", r.pick(["c.yaml", "missing.yaml"])] }
        case 12:
            c.args = ["record", "--model", r.pick(["missing.gguf", ".", "/dev/zero", "tiny.safetensors", "c.yaml"]),
                      "--text", r.pick(["text.txt", "binary.txt", "missing.txt", "/dev/zero", "."]), "--out", out(&r)]
            if r.chance(0.4) { c.args += ["--max-tokens", intValues(1, 1_000_000, &r)] }
            if r.chance(0.3) { c.args += ["--generate", intValues(0, 1_000_000, &r)] }
            if r.chance(0.3) { c.args += ["--dtype", r.pick(["f16", "f32", "f64"])] }
        default:
            let other: [[String]] = [
                ["columns"], ["--version"], ["bogus"], ["run"], ["run", "--bogus"], ["gemm", "--m"], ["eval", "c.yaml", "--out", out(&r)],
                ["eval", "c.yaml", "--max-points", intValues(1, Int.max, &r)], ["run", "c.yaml", "--out=\(out(&r))", "--", "x"],
                ["sweep", "c.yaml", "--resume"], ["run", "-x"], ["help", "run"], [],
            ]
            c.args = r.pick(other)
            if c.args.first == "eval" {
                c.files["c.yaml"] = "eval: {task: \(r.pick(["sentiment", "language_model", "x"])), model: \(r.pick(["missing.gguf", "tiny.safetensors", "."])), texts: [text.txt], data: text.txt, head: h.safetensors}\n"
            }
        }
        return c
    }

    /// Shared, read-only inputs every case directory links to.
    struct Fixture {
        let trace: String
        let csv: String
    }

    /// Prepares the directory of one case: the case's files plus the fixed inputs and special files.
    static func prepare(_ c: Case, in dir: URL, fixture: Fixture) throws {
        let fm = FileManager.default
        for (name, text) in c.files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        try fm.copyItem(atPath: fixture.trace, toPath: dir.appendingPathComponent("tiny.safetensors").path)
        try fm.copyItem(atPath: fixture.csv, toPath: dir.appendingPathComponent("in.csv").path)
        try fm.copyItem(atPath: fixture.csv, toPath: dir.appendingPathComponent("in2.csv").path)
        try Data("the quick brown fox\njumps over\n".utf8).write(to: dir.appendingPathComponent("text.txt"))
        try Data([0x68, 0x69, 0x0A, 0x00, 0xFF, 0xFE, 0x01]).write(to: dir.appendingPathComponent("binary.txt"))
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("link-to-config").path, withDestinationPath: "c.yaml")
        link(dir.appendingPathComponent("tiny.safetensors").path, dir.appendingPathComponent("hard-to-trace").path)
        mkfifo(dir.appendingPathComponent("fifo").path, 0o644)
    }

    /// Every file in `dir` (not following links) with its contents' hash, or its kind.
    static func snapshot(_ dir: URL) -> [String: String] {
        var out: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
            let path = dir.appendingPathComponent(name).path
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFREG {
                let data = FileManager.default.contents(atPath: path) ?? Data()
                var h: UInt64 = 1469598103934665603
                for b in data { h = (h ^ UInt64(b)) &* 1099511628211 }
                out[name] = "file \(data.count) \(h)"
            } else {
                out[name] = "mode \(st.st_mode & S_IFMT)"
            }
        }
        return out
    }

    /// The failure of one run, or nil: signals, unexpected statuses, not one line on stderr for
    /// status 2, inputs changed, files left behind by a failed run, a lock file left at all.
    static func judge(_ c: Case, status: Int32, signaled: Bool, stderr: String, before: [String: String], after: [String: String]) -> String? {
        if signaled { return "killed by signal \(status)" }
        guard [0, 1, 2].contains(status) else { return "exit status \(status)" }
        if status == 2 {
            let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.count == 2, lines[1].isEmpty, !lines[0].isEmpty else { return "exit 2 with \(lines.count - 1) lines on stderr: \(stderr.prefix(300))" }
            if stderr.contains("NSCocoaErrorDomain") || stderr.contains("Error Domain") { return "Foundation error domain in: \(stderr)" }
        }
        // A successful run may replace its --out (never an input: the guard refuses that, and an
        // atomic rename leaves other hard links of the old file as they were); nothing else changes.
        var written: String?
        if status == 0, let i = c.args.firstIndex(of: "--out"), i + 1 < c.args.count { written = c.args[i + 1] }
        if status == 0, let o = c.args.first(where: { $0.hasPrefix("--out=") }) { written = String(o.dropFirst(6)) }
        for (name, state) in before where after[name] != state && name != written {
            return "input '\(name)' changed (\(state) → \(after[name] ?? "deleted"))"
        }
        let new = after.keys.filter { before[$0] == nil }.sorted()
        if let lock = new.first(where: { $0.hasSuffix(".lock") || $0.contains(".tmp-") }) { return "left '\(lock)' behind" }
        if status != 0, let f = new.first { return "failed run (status \(status)) left '\(f)' behind" }
        return nil
    }
}
