import Foundation
import AttnCore
import Testing

/// Issue 16: no input destroys a user's files, no number crashes the tool. Each test runs the binary
/// as a user would and checks the exit status, that stderr is one line, and that every file is as it was.
@Suite struct RobustnessTests {
    static let trace = RunCommandTests.trace

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Exit 2, exactly one line on stderr containing `text`, no Foundation error domain.
    func expectOneLineError(_ r: CLIResult, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 2, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasSuffix("\n") && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(text), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Domain"), sourceLocation: sourceLocation)
    }

    /// A directory with a config (whose base is another file), the tiny trace, CSVs and text files.
    func workspace() throws -> URL {
        let dir = try CLI.temporaryDirectory()
        let fm = FileManager.default
        try fm.copyItem(atPath: Self.trace, toPath: dir.appendingPathComponent("t.safetensors").path)
        try "hardware: {array: {rows: 8}}\n".write(to: dir.appendingPathComponent("base.yaml"), atomically: true, encoding: .utf8)
        try "base: base.yaml\ntraces: [t.safetensors]\ncalibration: {sequences: [0]}\n"
            .write(to: dir.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        try "traces: [t.safetensors]\ncalibration: {sequences: [0]}\nsweep: {hardware.array.rows: [4, 8]}\n"
            .write(to: dir.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
        let made = try CLI.run(["sweep", "s.yaml", "--out", "r.csv", "--quiet"], cwd: dir)
        #expect(made.status == 0, "\(made.stderr)")
        try "the quick brown fox\n".write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try Data("fake".utf8).write(to: dir.appendingPathComponent("m.gguf"))
        try "eval: {task: language_model, model: m.gguf, texts: [text.txt]}\n"
            .write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        try fm.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        return dir
    }

    @Test(arguments: [
        ["gemm", "--m", "1000000000", "--k", "1000000000", "--n", "1000000000", "--rows", "1", "--cols", "1", "--dataflow", "os"],
        ["gemm", "--m", "3000000", "--k", "3000000", "--n", "3000000", "--rows", "65536", "--cols", "65536", "--dataflow", "ws"],
        ["gemm", "--m", "1099511627776", "--k", "1099511627776", "--n", "1", "--rows", "1", "--cols", "1", "--dataflow", "is", "--schedule", "overlapped"],
    ])
    func gemmCountsThatOverflowAreOneLineErrors(args: [String]) throws {
        expectOneLineError(try CLI.run(args), "does not fit in 64 bits; the largest count accepted is 9223372036854775807")
    }

    @Test func largeGemmsThatFitStillGiveAResult() throws {
        // 2^20 · 2^20 · 2^20 MACs = 2^60 fits: a result, computed with checked arithmetic.
        let r = try CLI.run(["gemm", "--m", "1048576", "--k", "1048576", "--n", "1048576", "--rows", "1", "--cols", "1", "--csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(",1152921504606846976,"))
    }

    /// Every writing command refuses an output that is one of its inputs — by another spelling, a
    /// `..` path, a symlink or a hard link — before any work, and leaves the input as it was.
    @Test(arguments: [
        (["run", "c.yaml", "--out", "sub/../t.safetensors"], "t.safetensors"),
        (["run", "c.yaml", "--out", "base.yaml"], "base.yaml"),
        (["sweep", "s.yaml", "--out", "./s.yaml"], "s.yaml"),
        (["sweep", "s.yaml", "--out", "hard.safetensors"], "t.safetensors"),
        (["calibrate", "c.yaml", "--set", "attention.pruning={kind: top_theta, k: 1}", "--out", "link.safetensors"], "t.safetensors"),
        (["eval", "e.yaml", "--out", "text.txt"], "text.txt"),
        (["record", "--model", "m.gguf", "--text", "text.txt", "--out", "m.gguf"], "m.gguf"),
        (["merge", "r.csv", "--out", "r.csv"], "r.csv"),
        (["plot", "r.csv", "--x", "cycles", "--y", "energy_pj", "--out", "link.csv"], "r.csv"),
        (["table", "r.csv", "--columns", "cycles", "--out", "sub/../r.csv"], "r.csv"),
        (["table", "r.csv", "--columns", "cycles", "--where", "cycles>0", "--pareto", "cycles,energy_pj", "--sort", "cycles:desc",
          "--out", "link.csv"], "r.csv"),
        (["plot", "r.csv", "--x", "config_id", "--y", "energy_pj", "--y-scale", "log", "--out", "r.csv"], "r.csv"),
    ])
    func outputsThatAreInputsAreRefused(args: [String], input: String) throws {
        let dir = try workspace()
        link(dir.appendingPathComponent("t.safetensors").path, dir.appendingPathComponent("hard.safetensors").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.safetensors").path, withDestinationPath: "t.safetensors")
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.csv").path, withDestinationPath: "r.csv")
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let saved = bytes(dir.appendingPathComponent(input).path)
        let r = try CLI.run(args, cwd: dir)
        expectOneLineError(r, "writing it would destroy the input")
        #expect(bytes(dir.appendingPathComponent(input).path) == saved)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == before)
    }

    @Test func devicesFIFOsAndDirectoriesAreNeverOutputs() throws {
        let dir = try workspace()
        mkfifo(dir.appendingPathComponent("fifo").path, 0o644)
        expectOneLineError(try CLI.run(["run", "c.yaml", "--out", "/dev/null"], cwd: dir), "'/dev/null': is a character device, not a regular file")
        expectOneLineError(try CLI.run(["sweep", "s.yaml", "--out", "fifo"], cwd: dir), "is a FIFO (named pipe), not a regular file")
        expectOneLineError(try CLI.run(["table", "r.csv", "--columns", "cycles", "--out", "sub"], cwd: dir), "is a directory")
        var st = stat()
        #expect(stat("/dev/null", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR)
        #expect(lstat(dir.appendingPathComponent("fifo").path, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        // '-' still means standard output.
        let r = try CLI.run(["run", "c.yaml", "--out", "-"], cwd: dir)
        #expect(r.status == 0 && r.stdout.hasPrefix("config_id,point,"))
    }

    @Test func aSecondRunOnTheSameOutputIsRefusedWhileTheFirstHoldsIt() throws {
        let dir = try workspace()
        let lockPath = dir.appendingPathComponent("out.csv.lock").path
        // Hold the lock as a running attnsim would.
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let r = try CLI.run(["sweep", "s.yaml", "--out", "out.csv", "--quiet"], cwd: dir)
        expectOneLineError(r, "'out.csv' is being written by another attnsim run")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.csv").path))
        flock(fd, LOCK_UN)
        close(fd)
        // Unlocked (even with the stale lock file left by a killed run) it runs, and removes the lock file.
        let ok = try CLI.run(["sweep", "s.yaml", "--out", "out.csv", "--quiet"], cwd: dir)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.csv").path))
        #expect(!FileManager.default.fileExists(atPath: lockPath))
    }

    @Test func twoSweepsStartedTogetherCannotBothWriteTheOutput() throws {
        let dir = try workspace()
        // Enough points that the first is still running when the second starts.
        try "traces: [t.safetensors]\ncalibration: {sequences: [0]}\nsweep: {hardware.array.rows: [\((1...400).map(String.init).joined(separator: ", "))]}\n"
            .write(to: dir.appendingPathComponent("big.yaml"), atomically: true, encoding: .utf8)
        let first = Process()
        first.executableURL = CLI.executable
        first.arguments = ["sweep", "big.yaml", "--out", "out.csv", "--quiet"]
        first.currentDirectoryURL = dir
        first.standardError = FileHandle.nullDevice
        try first.run()
        let lockPath = dir.appendingPathComponent("out.csv.lock").path
        while first.isRunning && !FileManager.default.fileExists(atPath: lockPath) { usleep(1000) }
        let second = try CLI.run(["sweep", "big.yaml", "--out", "out.csv", "--quiet"], cwd: dir)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        // The second either found the lock (exit 2, one line) or — if the first had already finished — ran after it.
        if second.status != 0 { expectOneLineError(second, "is being written by another attnsim run") }
        #expect(!FileManager.default.fileExists(atPath: lockPath))
    }

    @Test func resumeRefusesAnotherDetailOrSweepNamingTheDifference() throws {
        let dir = try workspace()
        let partial = dir.appendingPathComponent("p.csv").path
        #expect(try CLI.run(["sweep", "s.yaml", "--out", partial, "--detail", "layer", "--quiet"], cwd: dir).status == 0)
        let saved = bytes(partial)
        expectOneLineError(try CLI.run(["sweep", "s.yaml", "--out", partial, "--resume", "--quiet"], cwd: dir),
                           "cannot resume: it was written with --detail layer, this run has --detail summary")
        try "traces: [t.safetensors]\ncalibration: {sequences: [0]}\nsweep: {hardware.array.rows: [4, 16]}\n"
            .write(to: dir.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
        expectOneLineError(try CLI.run(["sweep", "s.yaml", "--out", partial, "--resume", "--detail", "layer", "--quiet"], cwd: dir),
                           "point 1 has hardware.array.rows = 8; this run's point 1 has 16")
        expectOneLineError(try CLI.run(["sweep", "s.yaml", "--out", partial, "--resume", "--detail", "layer", "--quiet",
                                        "--set", "phases=[prefill]", "--set", "sweep={hardware.array.rows: [4, 8]}"], cwd: dir),
                           "point 0 has prefill+decode rows; this run's phases are prefill")
        try FileManager.default.copyItem(atPath: dir.appendingPathComponent("t.safetensors").path, toPath: dir.appendingPathComponent("t2.safetensors").path)
        expectOneLineError(try CLI.run(["sweep", "s.yaml", "--out", partial, "--resume", "--detail", "layer", "--quiet",
                                        "--set", "traces=[t.safetensors, t2.safetensors]", "--set", "sweep={hardware.array.rows: [4, 8]}"], cwd: dir),
                           "point 0 was run on traces t.safetensors; this run replays t.safetensors, t2.safetensors")
        #expect(bytes(partial) == saved)
    }

    /// A CSV made by other models (another `model_revision`, or an attnsim from before revisions were
    /// recorded) is never continued or merged: its rows would sit next to rows of this model.
    @Test func resumeAndMergeRefuseRowsOfAnotherModelRevision() throws {
        let dir = try workspace()
        let partial = dir.appendingPathComponent("p.csv").path
        #expect(try CLI.run(["sweep", "s.yaml", "--out", partial, "--quiet"], cwd: dir).status == 0)
        let table = try CSVTable(path: partial)
        let ri = try table.columnIndex("model_revision")
        #expect(table.rows.allSatisfy { $0[ri] == String(AttnSimVersion.modelRevision) })
        // The same rows, said to come from the previous revision (only line 3 changed).
        var rows = table.rows
        rows[1][ri] = String(AttnSimVersion.modelRevision - 1)
        let older = CSV.record(table.columns) + rows.map { CSV.record($0) }.joined()
        try older.write(toFile: partial, atomically: true, encoding: .utf8)
        expectOneLineError(try CLI.run(["sweep", "s.yaml", "--out", partial, "--resume", "--quiet"], cwd: dir),
                           "p.csv:3: cannot resume: point \(rows[1][table.columns.firstIndex(of: "point")!]) was made by model revision \(AttnSimVersion.modelRevision - 1), this attnsim is model revision \(AttnSimVersion.modelRevision)")
        #expect(bytes(partial) == Data(older.utf8))
        // Without the column: written before revisions were recorded.
        let bare = CSV.record(table.columns.filter { $0 != "model_revision" })
            + table.rows.map { r in CSV.record(r.enumerated().filter { $0.offset != ri }.map(\.element)) }.joined()
        try bare.write(toFile: partial, atomically: true, encoding: .utf8)
        expectOneLineError(try CLI.run(["sweep", "s.yaml", "--out", partial, "--resume", "--quiet"], cwd: dir),
                           "cannot resume: it was written by an attnsim older than model revision 1 (it has no model_revision column)")
        // merge: two shards of one sweep, one of them from another revision.
        #expect(try CLI.run(["sweep", "s.yaml", "--out", "a.csv", "--shard", "0/2", "--quiet"], cwd: dir).status == 0)
        #expect(try CLI.run(["sweep", "s.yaml", "--out", "b.csv", "--shard", "1/2", "--quiet"], cwd: dir).status == 0)
        #expect(try CLI.run(["merge", "a.csv", "b.csv", "--out", "m.csv"], cwd: dir).status == 0)
        let b = try CSVTable(path: dir.appendingPathComponent("b.csv").path)
        let bOld = CSV.record(b.columns) + b.rows.map { r in var r = r; r[ri] = "0"; return CSV.record(r) }.joined()
        try bOld.write(to: dir.appendingPathComponent("b.csv"), atomically: true, encoding: .utf8)
        expectOneLineError(try CLI.run(["merge", "a.csv", "b.csv", "--out", "m2.csv"], cwd: dir),
                           "b.csv:2: made by model revision 0, a.csv:2 by model revision \(AttnSimVersion.modelRevision): shards of one sweep must come from one attnsim model revision")
    }

    @Test func aBillionPointSweepIsRefusedWithTheMemoryItNeeds() throws {
        let dir = try workspace()
        let ten = "[" + (1...10).map(String.init).joined(separator: ", ") + "]"
        let keys = ["hardware.array.rows", "hardware.array.cols", "hardware.comparator.lanes", "hardware.top_k.lanes",
                    "hardware.softmax.lanes", "hardware.quantizer.lanes", "hardware.memory.burst_bytes",
                    "hardware.memory.dram_latency_cycles", "attention.datapath.peg_groups"]
        try ("traces: [t.safetensors]\nsweep:\n" + keys.map { "  \($0): \(ten)\n" }.joined())
            .write(to: dir.appendingPathComponent("huge.yaml"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["sweep", "huge.yaml", "--max-points", "1000000000", "--out", "o.csv"], cwd: dir)
        expectOneLineError(r, "sweep has 1000000000 points; expanding them needs about 2.0 TB of memory")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.csv").path))
    }

    @Test func osErrorsAreInPlainWords() throws {
        let dir = try workspace()
        expectOneLineError(try CLI.run(["inspect", dir.path]), "is a directory, expected a safetensors file")
        expectOneLineError(try CLI.run(["inspect", "/dev/zero"]), "/dev/zero: is a character device, expected a safetensors file (a regular file)")
        expectOneLineError(try CLI.run(["run", "/dev/zero"]), "/dev/zero: is a character device, expected a config file")
        expectOneLineError(try CLI.run(["table", "/dev/zero", "--columns", "a"]), "is a character device, expected a CSV file")
    }

    @Test func recordRefusesABinaryTextFileNamingTheLine() throws {
        let dir = try workspace()
        try Data("first line\nsecond\u{0}line\n".utf8).write(to: dir.appendingPathComponent("bin.txt"))
        try Data([0x61, 0x0A, 0x62, 0x0A, 0xFF, 0xFE]).write(to: dir.appendingPathComponent("latin.txt"))
        expectOneLineError(try CLI.run(["record", "--model", "m.gguf", "--text", "bin.txt", "--out", "o.safetensors"], cwd: dir),
                           "bin.txt: line 2: contains a NUL byte")
        expectOneLineError(try CLI.run(["record", "--model", "m.gguf", "--text", "latin.txt", "--out", "o.safetensors"], cwd: dir),
                           "latin.txt: line 3: invalid UTF-8 at byte 4")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.safetensors").path))
    }

    /// Found by the CLI fuzzer (cases 41797 and 71896 of seed 20261202): a trace listed twice trapped in `calibrate`.
    @Test func calibrateWithATraceListedTwiceOrTwoTracesOfOneName() throws {
        let dir = try workspace()
        let top = "--set", pruning = "attention.pruning={kind: top_theta, k: 2}"
        let r = try CLI.run(["calibrate", "c.yaml", "--out", "th.safetensors", top, "traces=[t.safetensors, t.safetensors]", top, pruning], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("wrote thresholds for 1 trace(s)"))
        try FileManager.default.copyItem(atPath: dir.appendingPathComponent("t.safetensors").path, toPath: dir.appendingPathComponent("sub/t.safetensors").path)
        expectOneLineError(try CLI.run(["calibrate", "c.yaml", "--out", "th2.safetensors", top, "traces=[t.safetensors, sub/t.safetensors]", top, pruning], cwd: dir),
                           "have the same file name stem")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("th2.safetensors").path))
    }

    @Test func plotTreatsConfigIDsAsCategories() throws {
        let dir = try workspace()
        // Hex ids that read as numbers (21e4..., 123456) must stay categories.
        try "config_id,cycles\n21e444765893,5\n123456789abc,7\n000000000001,6\n"
            .write(to: dir.appendingPathComponent("ids.csv"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["plot", "ids.csv", "--x", "config_id", "--y", "cycles", "--out", "p.svg"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        let svg = try String(contentsOfFile: dir.appendingPathComponent("p.svg").path, encoding: .utf8)
        for id in ["21e444765893", "123456789abc", "000000000001"] { #expect(svg.contains(">\(id)</text>")) }
        #expect(svg.components(separatedBy: "<circle").count - 1 == 3)
        // A categorical axis has no log scale: asking for one is a usage error, nothing written.
        for flags in [["--x-scale", "log"], ["--log-x"]] {
            let bad = try CLI.run(["plot", "ids.csv", "--x", "config_id", "--y", "cycles", "--out", "q.svg"] + flags, cwd: dir)
            expectOneLineError(bad, "\(flags[0]): column 'config_id' is categorical (config_id or not numbers); it has no log scale")
            #expect(bad.status == 2)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("q.svg").path))
        let log = try CLI.run(["plot", "ids.csv", "--x", "config_id", "--y", "cycles", "--y-scale", "log", "--out", "q.svg"], cwd: dir)
        #expect(log.status == 0, "\(log.stderr)")
    }
}

/// `--dram-trace` is an output too: it may not name an input or the CSV.
@Suite struct DRAMTraceOutputTests {
    /// An input, `--out` itself, or a symlink to `--out` (not written yet) as `--dram-trace`: refused
    /// before any work (OutputGuard's rule for every output, not a special case of the command).
    @Test(arguments: ["Traces/minilm-movie.safetensors", "Configs/default.yaml", "SAME_AS_OUT", "LINK_TO_OUT"])
    func dramTraceThatIsAnInputIsRefused(target: String) throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("r.csv").path
        var path = target == "SAME_AS_OUT" ? out : CLI.packageRoot.appendingPathComponent(target).path
        if target == "LINK_TO_OUT" {
            path = dir.appendingPathComponent("trace.txt").path
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "r.csv")
        }
        let before = try? Data(contentsOf: URL(fileURLWithPath: path))
        let r = try CLI.run(["run", "Configs/default.yaml", "--set", "hardware.dram.model=banked", "--out", out,
                             "--dram-trace", path, "--quiet"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("attnsim: --dram-trace: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: path))) == before)
        #expect(!FileManager.default.fileExists(atPath: out))
        if target.hasSuffix("_OUT") { #expect(r.stderr.contains("is also the --out file '\(out)'"), "\(r.stderr)") }
    }
}
