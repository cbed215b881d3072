import Foundation
import Testing

/// `attnsim scalesim` as a SCALE-Sim user runs it: SCALE-Sim's flags, its report directory layout,
/// located errors with exit status 2, warnings on stderr.
@Suite struct ScaleSimCommandTests {
    static let golden = CLI.packageRoot.appendingPathComponent("Tests/Fixtures/scalesim/reports/conv_os_8x4_1k")

    @Test func writesSCALESimReportsUnderRunName() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try CLI.run(["scalesim", "-c", Self.golden.appendingPathComponent("scale.cfg").path,
                             "-t", Self.golden.appendingPathComponent("topology.csv").path, "-p", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        // The cfg has SCALE-Sim's own unused MemoryBanks key: one warning line naming it.
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("[architecture_presets] MemoryBanks: unknown key, ignored"))
        for file in ["COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"] {
            let ours = try String(contentsOfFile: dir.appendingPathComponent("conv_os_8x4_1k/\(file)").path, encoding: .utf8)
            let theirs = try String(contentsOfFile: Self.golden.appendingPathComponent(file).path, encoding: .utf8)
            #expect(ours == theirs, "\(file)")
        }
    }

    @Test func gemmTopologyWithoutDashIIsRefusedWithAHint() throws {
        let dir = try CLI.temporaryDirectory()
        let gemm = CLI.packageRoot.appendingPathComponent("Tests/Fixtures/scalesim/reports/gemm_os_4x4_1k")
        let r = try CLI.run(["scalesim", "-c", gemm.appendingPathComponent("scale.cfg").path,
                             "-t", gemm.appendingPathComponent("topology.csv").path, "-p", dir.path])
        #expect(r.status == 2)
        #expect(r.stderr.hasSuffix("topology.csv:2: expected 8 fields (name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides) and an optional N:M sparsity ratio, got 4 (a GEMM row? use -i gemm)\n"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("gemm_os_4x4_1k").path))
    }

    @Test func badConfigIsOneLocatedLineAndNoOutput() throws {
        let dir = try CLI.temporaryDirectory()
        let cfg = dir.appendingPathComponent("bad.cfg").path
        let text = try String(contentsOfFile: Self.golden.appendingPathComponent("scale.cfg").path, encoding: .utf8)
        try text.replacingOccurrences(of: "Dataflow : os", with: "Dataflow : rs").write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try CLI.run(["scalesim", "-c", cfg, "-t", Self.golden.appendingPathComponent("topology.csv").path, "-p", dir.path])
        #expect(r.status == 2)
        #expect(r.stderr == "attnsim: \(cfg):14:1: [architecture_presets] Dataflow: expected os, ws or is, got 'rs'\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("conv_os_8x4_1k").path))
    }

    @Test func refusesToOverwriteAnInput() throws {
        let dir = try CLI.temporaryDirectory()
        let run = dir.appendingPathComponent("r")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let cfg = run.appendingPathComponent("COMPUTE_REPORT.csv").path
        let text = try String(contentsOfFile: Self.golden.appendingPathComponent("scale.cfg").path, encoding: .utf8)
        try text.replacingOccurrences(of: "run_name = conv_os_8x4_1k", with: "run_name = r").write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try CLI.run(["scalesim", "-c", cfg, "-t", Self.golden.appendingPathComponent("topology.csv").path, "-p", dir.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("-p: '\(cfg)' is an input file"), "\(r.stderr)")
        #expect(try String(contentsOfFile: cfg, encoding: .utf8).hasPrefix("[general]"))
    }

    @Test func missingFilesAndBadFlags() throws {
        var r = try CLI.run(["scalesim", "-t", "x.csv"])
        #expect(r.status == 2 && r.stderr == "attnsim: --config: is required (FILE.cfg)\n")
        r = try CLI.run(["scalesim", "-c", "/nonexistent.cfg", "-t", "x.csv"])
        #expect(r.status == 2 && r.stderr.hasPrefix("attnsim: /nonexistent.cfg: cannot read the SCALE-Sim config"))
        let file = try CLI.temporaryDirectory().appendingPathComponent("f")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        r = try CLI.run(["scalesim", "-c", "a", "-t", "b", "-p", file.path])
        #expect(r.status == 2 && r.stderr == "attnsim: -p: '\(file.path)' exists and is not a directory\n")
        r = try CLI.run(["scalesim", "-c", "a", "-t", "b", "-i", "mnk"])
        #expect(r.status == 2 && r.stderr == "attnsim: --input-type: expected one of gemm, conv, got 'mnk'\n")
    }
}
