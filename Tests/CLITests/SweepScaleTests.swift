import Foundation
import Testing

/// Resumable, sharded, interruptible sweeps.
@Suite struct SweepScaleTests {
    func sweepConfig(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("s.yaml").path
        try """
        traces: ["\(RunCommandTests.trace)"]
        calibration: {sequences: [0]}
        attention: {pruning: {kind: top_k, k: 1}}
        sweep:
          hardware.array.rows: [2, 4, 8]
          hardware.array.cols: [2, 4]
          attention.datapath.q_bits: [4, 8]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func resumedSweepEqualsAnUninterruptedOne() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try sweepConfig(in: dir)
        let full = dir.appendingPathComponent("full.csv").path
        #expect(try CLI.run(["sweep", cfg, "--out", full, "--quiet"]).status == 0)
        // A run killed after some points: keep the header and the rows of points 0-4 only.
        let lines = try read(full).split(separator: "\n", omittingEmptySubsequences: false)
        let partial = dir.appendingPathComponent("partial.csv").path
        let kept = [lines[0]] + lines.dropFirst().filter { l in
            guard let p = l.split(separator: ",").dropFirst().first.flatMap({ Int($0) }) else { return false }
            return p < 5
        }
        try (kept.joined(separator: "\n") + "\n").write(toFile: partial, atomically: true, encoding: .utf8)
        let r = try CLI.run(["sweep", cfg, "--out", partial, "--resume", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try read(partial) == read(full))
        // Resuming a finished sweep changes nothing; resuming a different sweep is refused.
        #expect(try CLI.run(["sweep", cfg, "--out", partial, "--resume", "--quiet"]).status == 0)
        #expect(try read(partial) == read(full))
        let other = try CLI.run(["sweep", cfg, "--out", partial, "--resume", "--set", "hardware.clock_ghz=2"])
        #expect(other.status == 2)
        #expect(other.stderr.contains("the config differs outside the swept keys"))
    }

    @Test func shardsMergeToTheUnshardedSweep() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try sweepConfig(in: dir)
        let full = dir.appendingPathComponent("full.csv").path
        #expect(try CLI.run(["sweep", cfg, "--out", full, "--quiet"]).status == 0)
        var shards: [String] = []
        for i in 0..<3 {
            let p = dir.appendingPathComponent("shard\(i).csv").path
            let r = try CLI.run(["sweep", cfg, "--shard", "\(i)/3", "--out", p, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            shards.append(p)
        }
        let merged = dir.appendingPathComponent("merged.csv").path
        let m = try CLI.run(["merge"] + shards + ["--config", cfg, "--out", merged])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try read(merged) == read(full))
        // A missing shard and a duplicated one are both errors.
        let missing = try CLI.run(["merge", shards[0], shards[1], "--config", cfg])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("of 12 points missing"))
        let dup = try CLI.run(["merge", shards[0], shards[0]])
        #expect(dup.status == 2)
        #expect(dup.stderr.contains("duplicate row"))
        let badShard = try CLI.run(["sweep", cfg, "--shard", "3/3"])
        #expect(badShard.stderr == "attnsim: --shard: expected I/N with 0 ≤ I < N, got '3/3'\n")
    }

    /// SIGINT in the middle of a sweep over the committed traces leaves a valid CSV of finished points
    /// (exit 1), and --resume completes it to exactly the uninterrupted result. The sweep is the banked-
    /// DRAM one (seconds of work after its first flush at 1 s), and the process is stopped (SIGSTOP) the
    /// moment the first flush appears, so the interrupt always lands mid-sweep however fast the machine.
    @Test func interruptedSweepLeavesAValidCSVAndResumes() throws {
        let config = "Configs/sweep-1000-dram.yaml"
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("s.csv").path
        let full = dir.appendingPathComponent("full.csv").path
        #expect(try CLI.run(["sweep", config, "--out", full, "--quiet"]).status == 0)
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["sweep", config, "--out", out, "--quiet"]
        process.currentDirectoryURL = CLI.packageRoot
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: out) && Date() < deadline && process.isRunning { usleep(5_000) }
        kill(process.processIdentifier, SIGSTOP)
        let stoppedMidSweep = process.isRunning
        kill(process.processIdentifier, SIGINT)
        kill(process.processIdentifier, SIGCONT)
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stoppedMidSweep, "the sweep ended before its first periodic flush could be interrupted")
        #expect(process.terminationReason == .exit && process.terminationStatus == 1, "status \(process.terminationStatus): \(stderr)")
        #expect(stderr.contains("rerun with --resume"))
        let partial = try read(out)
        #expect(partial.hasPrefix("config_id,point,"))
        #expect(partial.count < (try read(full)).count)
        let r = try CLI.run(["sweep", config, "--out", out, "--resume", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try read(out) == read(full))
    }
}
