import Accelerator
import AttnCore
import Foundation
import TestSupport
import Testing
@testable import Experiments

/// Golden case (b) of Scripts/dramsim3_golden.sh — the sparse V gathers of a Top-θ decode run on the
/// committed SmolLM2 trace — replayed through our banked model and compared with DRAMsim3
/// (Tests/Fixtures/dram/dramsim3_golden.csv), and against a dense stream of the same bytes; the
/// ranking of all golden cases.
@Suite struct DRAMGoldenTests {
    struct Row { let cycles: Double, hits: Int, requests: Int, energyPJ: Double }

    static func golden() throws -> [String: Row] {
        let path = TestPaths.fixture("dram/dramsim3_golden.csv")
        let table = try CSVTable(path: path)
        let col = { (n: String) throws -> Int in try table.columnIndex(n) }
        let p = try col("preset"), c = try col("case"), cy = try col("cycles"), h = try col("row_hits"), r = try col("requests"), e = try col("energy_pj")
        var out: [String: Row] = [:]
        for row in table.rows {
            out[row[p] + "/" + row[c]] = Row(cycles: Double(row[cy])!, hits: Int(row[h])!, requests: Int(row[r])!, energyPJ: Double(row[e])!)
        }
        return out
    }

    /// The V requests `attnsim run Tests/Fixtures/dram/top-theta-decode.yaml --dram-trace … --dram-trace-streams v` writes.
    static func gather(_ preset: DRAMPreset) throws -> DRAMRequests {
        let config = TestPaths.fixture("dram/top-theta-decode.yaml")
        let points = try ExperimentLoader.load(path: config, overrides: ["hardware.dram.preset=\(preset.rawValue)"], allowSweep: false)
        let recorder = DRAMTraceRecorder(streams: [.v])
        _ = try Runner(dramTrace: recorder).run(points)
        return try DRAMRequests.parse(recorder.contents, file: "recorded")
    }

    /// Cycles and hit rate within 5 % of DRAMsim3 (the fast model's DDR4 cycles within 6 %: its
    /// per-bank command queues hold back the gathers' bank switches a little more than DRAMsim3's
    /// controller, +5.3 %; docs/model.md); the gather against a dense stream of the same bytes: the
    /// direction DRAMsim3 gives, and the ratio within 10 %.
    @Test(arguments: [DRAMPreset.ddr4_3200, .hbm2]) func sparseGatherMatchesDRAMsim3AndItsDenseTwin(_ preset: DRAMPreset) throws {
        let golden = try Self.golden()
        let ref = try #require(golden["\(preset.rawValue)/gather"]), refDense = try #require(golden["\(preset.rawValue)/dense"])
        let reqs = try Self.gather(preset)
        #expect(reqs.count == ref.requests)
        for mode in DRAMConfig.Mode.allCases {
            let config = DRAMConfig.banked(preset, mode: mode)
            let g = DRAMTraceReplay.run(reqs, config: config)
            let tolerance = mode == .fast && preset == .ddr4_3200 ? 0.06 : 0.05
            #expect(abs(g.cycles / ref.cycles - 1) <= tolerance, "\(preset) \(mode): \(g.cycles) vs DRAMsim3 \(ref.cycles)")
            let refRate = Double(ref.hits) / Double(ref.requests)
            #expect(abs(g.stats.hitRate - refRate) <= 0.05 * refRate, "\(preset) \(mode): hit rate \(g.stats.hitRate) vs \(refRate)")
            let d = DRAMTraceReplay.run(.sequential(config.spec, count: reqs.count), config: config)
            let ratio = g.cycles / d.cycles, refRatio = ref.cycles / refDense.cycles
            let eRatio = g.energyPJ / d.energyPJ, refE = ref.energyPJ / refDense.energyPJ
            #expect((ratio > 1) == (refRatio > 1) && (eRatio > 1) == (refE > 1), "\(preset) \(mode): direction")
            #expect(abs(ratio / refRatio - 1) <= 0.10, "\(preset) \(mode): gather/dense cycles \(ratio) vs DRAMsim3 \(refRatio)")
            #expect(abs(eRatio / refE - 1) <= 0.10, "\(preset) \(mode): gather/dense energy \(eRatio) vs DRAMsim3 \(refE)")
        }
    }

    /// The ranking of the golden cases by cycles (each preset, and across presets) is DRAMsim3's.
    @Test func rankingOfCasesIsPreserved() throws {
        let golden = try Self.golden()
        var ours: [String: Double] = [:]
        for preset in [DRAMPreset.ddr4_3200, .hbm2] {
            let spec = preset.spec
            let cases: [(String, DRAMRequests)] = [
                ("sequential", .sequential(spec, count: golden["\(preset.rawValue)/sequential"]!.requests)),
                ("gather", try Self.gather(preset)),
                ("dense", .sequential(spec, count: golden["\(preset.rawValue)/dense"]!.requests)),
                ("conflict", .bankConflict(spec, mapping: preset.defaultMapping, count: golden["\(preset.rawValue)/conflict"]!.requests)),
            ]
            for (name, reqs) in cases { ours["\(preset.rawValue)/\(name)"] = DRAMTraceReplay.run(reqs, config: .banked(preset)).cycles }
        }
        // Every pair DRAMsim3 separates by more than 5 % is in the same order (HBM2's sequential and
        // gather cases are within 0.05 % of each other there: a tie).
        let keys = golden.keys.filter { !$0.contains("/tiled-") }.sorted()
        var pairs = 0
        for a in keys {
            for b in keys where golden[a]!.cycles > 1.05 * golden[b]!.cycles {
                pairs += 1
                #expect(ours[a]! > ours[b]!, "\(a) vs \(b): ours \(ours[a]!) vs \(ours[b]!)")
            }
        }
        #expect(pairs == 27)
    }
}
