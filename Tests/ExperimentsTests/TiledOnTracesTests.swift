import Foundation
import Testing
@testable import Accelerator
@testable import Experiments
import TestSupport

/// The tiled dataflow against the full-row one on the committed traces (Configs/default.yaml: Top-θ
/// on scores with the exact denominator and V-mean compensation), head group by head group.
@Suite struct TiledOnTracesTests {
    static let configPath = TestPaths.packageRoot.appendingPathComponent("Configs/default.yaml").path

    @Test func tiledEqualsFullRowInEveryCountTheyShare() throws {
        let point = try ExperimentLoader.load(path: Self.configPath)[0]
        let runner = Runner()
        try runner.openTraces([point])
        var tiledHW = point.config.hardware
        tiledHW.dataflow = .tiled
        tiledHW.memory.sramStage = true
        let wl = point.config.attention.timingWorkload
        let full = AttentionPipeline(hardware: point.config.hardware, workload: wl)
        let tiled = AttentionPipeline(hardware: tiledHW, workload: wl)
        var compared = 0, rescaled = 0
        for trace in point.config.traces {
            let outcome = try runner.functional(point.config, trace: trace)
            for phase in point.config.phases {
                for act in outcome.activities[phase] ?? [] {
                    // The pruned activity and the same rows dense (no pruning).
                    let dense = HeadActivity(sequence: act.sequence, layer: act.layer, kvHead: act.kvHead, queryHeads: act.queryHeads,
                                             headDim: act.headDim, phase: act.phase, firstRowPosition: act.firstRowPosition,
                                             keyCounts: act.keyCounts)
                    for a in [act, dense] {
                        let f = full.cost(a), t = tiled.cost(a)
                        #expect(t.macs == f.macs)
                        #expect(t.keptElements == f.keptElements)
                        #expect(t.visibleElements == f.visibleElements)
                        #expect(t.vRowsRequested == f.vRowsRequested)
                        #expect(t.vRowsVisible == f.vRowsVisible)
                        // V rows are whole 64-byte bursts and key tiles are 32 rows: the traffic agrees too.
                        #expect(t.vDRAMBytes == f.vDRAMBytes)
                        #expect(t.dramReadBytes == f.dramReadBytes)
                        #expect(t.dramWriteBytes == f.dramWriteBytes)
                        #expect(t.spillDRAMBytes == 0 && f.spillDRAMBytes == 0)
                        compared += 1
                        rescaled += t.rescaleOps
                    }
                }
            }
        }
        #expect(compared > 100)
        // The SmolLM2 trace's rows reach beyond one 32-key tile: some rows rescale.
        #expect(rescaled > 0)
    }
}
