import Foundation
import Testing

/// The banked DRAM model from the command line: its report columns appear only when a point uses
/// it, `run --dram-trace` writes DRAMsim3's trace format, `attnsim dram` prices one stream, and bad
/// DRAM configs and flags exit 2 with one located line.
@Suite struct DRAMCommandTests {
    let run = RunCommandTests()

    @Test func dramColumnsOnlyWithTheBankedModel() throws {
        let dir = try CLI.temporaryDirectory()
        let plain = try run.writeConfig("phases: [prefill]\n", in: dir, name: "plain.yaml")
        let banked = try run.writeConfig("phases: [prefill]\nhardware: {dram: {model: banked, preset: hbm2}}\n", in: dir, name: "banked.yaml")
        let a = try CLI.run(["run", plain, "--quiet"]), b = try CLI.run(["run", banked, "--quiet"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        #expect(!a.stdout.contains("dram_row_hit_rate"))
        let row = try #require(run.csv(b.stdout).first)
        let requests = try #require(Int(row["dram_requests"] ?? ""))
        let hits = try #require(Int(row["dram_row_hits"] ?? "")), misses = Int(row["dram_row_misses"]!)!, conflicts = Int(row["dram_row_conflicts"]!)!
        #expect(requests > 0 && hits + misses + conflicts == requests)
        #expect(Int(row["dram_activates"]!)! == misses + conflicts)
        #expect(row["dram_peak_gbps"] == "256")   // HBM2: 8 channels × 64 bytes / 2 cycles at 1 GHz
        #expect(["bus", "activates", "bank"].contains(row["dram_limit"]!))
        // A sweep mixing both models: the simple points leave the DRAM columns empty.
        let mixed = try run.writeConfig("phases: [prefill]\nsweep: {hardware.dram.model: [simple, banked]}\n", in: dir, name: "mixed.yaml")
        let m = try CLI.run(["sweep", mixed, "--quiet"])
        let rows = run.csv(m.stdout)
        #expect(rows.count == 2 && rows[0]["dram_requests"] == "" && rows[1]["dram_requests"] != "")
    }

    @Test func runWritesADRAMsim3TraceOfTheStreamsAsked() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try run.writeConfig("hardware: {dram: {model: banked}}\n", in: dir)
        let all = dir.appendingPathComponent("all.trc").path, v = dir.appendingPathComponent("v.trc").path
        let r1 = try CLI.run(["run", cfg, "--quiet", "--out", dir.appendingPathComponent("r.csv").path, "--dram-trace", all])
        let r2 = try CLI.run(["run", cfg, "--quiet", "--out", dir.appendingPathComponent("r2.csv").path, "--dram-trace", v, "--dram-trace-streams", "v"])
        #expect(r1.status == 0 && r2.status == 0, "\(r1.stderr)\(r2.stderr)")
        let lines = try String(contentsOfFile: all, encoding: .utf8).split(separator: "\n")
        let vLines = try String(contentsOfFile: v, encoding: .utf8).split(separator: "\n")
        #expect(!vLines.isEmpty && vLines.count < lines.count)
        #expect(lines.allSatisfy { $0.wholeMatch(of: /0x[0-9A-F]+ (READ|WRITE) [0-9]+/) != nil })
        #expect(lines.contains { $0.contains(" WRITE ") } && !vLines.contains { $0.contains(" WRITE ") })
        // The report's request count equals the trace's lines.
        let total = run.csv(try String(contentsOfFile: dir.appendingPathComponent("r.csv").path, encoding: .utf8))
            .map { Int($0["dram_requests"]!)! }.reduce(0, +)
        #expect(total == lines.count)
    }

    @Test func dramCommandPricesAPatternAndItsTrace() throws {
        let dir = try CLI.temporaryDirectory()
        let trc = dir.appendingPathComponent("c.trc").path
        let a = try CLI.run(["dram", "--pattern", "conflict", "--requests", "100", "--write-trace", trc])
        let b = try CLI.run(["dram", "--trace", trc, "--mode", "detailed"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        let x = try #require(run.csv(a.stdout).first), y = try #require(run.csv(b.stdout).first)
        #expect(x["activates"] == "100" && y["activates"] == "100" && x["row_hits"] == "0")
        // Every request a new row in one bank: about tRC = tRAS + tRP = 74 cycles each.
        let cycles = Double(x["cycles"]!)!
        #expect(cycles > 100 * 70 && cycles < 100 * 80)
    }

    @Test func badDRAMInputsExitTwoWithOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = try run.writeConfig("hardware:\n  dram:\n    model: banked\n    structure: {banks_per_group: 0}\n", in: dir)
        let r = try CLI.run(["run", cfg])
        #expect(r.status == 2 && r.stderr.hasPrefix("attnsim: \(cfg):6:") && r.stderr.contains("hardware.dram.structure.banks_per_group"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let plain = try run.writeConfig("", in: dir, name: "plain.yaml")
        let t = try CLI.run(["run", plain, "--dram-trace", dir.appendingPathComponent("x.trc").path])
        #expect(t.status == 2 && t.stderr.contains("--dram-trace: needs the banked DRAM model"), "\(t.stderr)")
        let bad = dir.appendingPathComponent("bad.trc").path
        try "0x40 READ 0\nbogus\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let d = try CLI.run(["dram", "--trace", bad])
        #expect(d.status == 2 && d.stderr.contains("\(bad):2:"), "\(d.stderr)")
        let m = try CLI.run(["dram", "--pattern", "sequential", "--mapping", "rorororororo"])
        #expect(m.status == 2 && m.stderr.contains("--mapping"), "\(m.stderr)")
    }
}
