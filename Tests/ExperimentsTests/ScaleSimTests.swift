import Accelerator
import AttnCore
@testable import Experiments
import Foundation
import TestSupport
import Testing

/// `attnsim scalesim` against real SCALE-Sim 3.0.0 runs (Scripts/scalesim_golden.py `reports`):
/// every report file byte for byte, for GEMM and conv topologies, all three dataflows and SRAMs
/// from 1 kB (many prefetch windows and drains) to 4096 kB (one prefetch).
@Suite struct ScaleSimTests {
    static let reportsDir = TestPaths.fixture("scalesim/reports")

    static let cases: [String] = {
        (try? FileManager.default.contentsOfDirectory(atPath: reportsDir))?.sorted() ?? []
    }()

    static func kind(of topology: String) throws -> ScaleSimTopology.Kind {
        let header = try String(contentsOfFile: topology, encoding: .utf8).split(separator: "\n")[0]
        return header.replacingOccurrences(of: " ", with: "").hasPrefix("Layer,M,N,K") ? .gemm : .conv
    }

    @Test func goldenCasesArePresent() {
        // GEMM and conv, each dataflow, small and large SRAMs, and SCALE-Sim's own ViT-S topology.
        #expect(Self.cases.count >= 9)
        #expect(Self.cases.contains { $0.hasPrefix("conv_os") } && Self.cases.contains { $0.hasPrefix("conv_ws") }
                && Self.cases.contains { $0.hasPrefix("conv_is") })
        #expect(Self.cases.contains("vit_s_scale_cfg"))
    }

    @Test(arguments: cases)
    func reportsEqualSCALESim(_ name: String) throws {
        let dir = (Self.reportsDir as NSString).appendingPathComponent(name)
        let topology = (dir as NSString).appendingPathComponent("topology.csv")
        let output = try ScaleSimRun.simulate(configPath: (dir as NSString).appendingPathComponent("scale.cfg"),
                                              topologyPath: topology, kind: try Self.kind(of: topology))
        let ours = ScaleSimReports.render(output.results)
        for (file, text) in zip(ScaleSimReports.fileNames, ours) {
            let golden = try String(contentsOfFile: (dir as NSString).appendingPathComponent(file), encoding: .utf8)
            let g = golden.split(separator: "\n"), o = text.split(separator: "\n")
            #expect(g.count == o.count, "\(name)/\(file): line count")
            for (i, (a, b)) in zip(g, o).enumerated() where a != b {
                Issue.record("\(name)/\(file) line \(i + 1):\n  SCALE-Sim: \(a)\n  attnsim:   \(b)")
            }
            #expect(text == golden)
        }
        // The golden configs carry SCALE-Sim's own extra key (MemoryBanks), reported as ignored.
        #expect(output.warnings.count == 1 && output.warnings[0].contains("MemoryBanks: unknown key"))
    }

    /// SCALE-Sim's "Total Cycles" is the demand-row count − 1 (no stalls in CALC mode); the row
    /// count is `SystolicArray`'s cycle count, so `attnsim gemm` and `attnsim scalesim` agree.
    @Test(arguments: [SystolicArray.Dataflow.os, .ws, .is])
    func totalCyclesAreSystolicArrayCyclesMinusOne(_ df: SystolicArray.Dataflow) throws {
        let config = ScaleSimConfig(arrayRows: 8, arrayCols: 4, dataflow: df, ifmapSRAMKB: 1, filterSRAMKB: 1, ofmapSRAMKB: 1)
        let layer = ScaleSimLayer(name: "c", line: 2, ifmapHeight: 9, ifmapWidth: 7, filterHeight: 3, filterWidth: 2,
                                  channels: 3, filters: 5, strideHeight: 2, strideWidth: 2)
        let r = try ScaleSimLayerSim.run(layer, config: config)
        let gemm = SystolicArray(rows: 8, cols: 4, dataflow: df).gemm(m: layer.ofmapPixels, k: layer.windowSize, n: 5)
        // SCALE-Sim's ⌈(W − S + s)/s⌉: width ⌈7/2⌉ = 4, one more than PyTorch's ⌊(W − S)/s⌋ + 1 = 3.
        #expect(layer.ofmapHeight == 4 && layer.ofmapWidth == 4 && layer.windowSize == 18)
        #expect(r.demandRows == gemm.cycles)
        #expect(r.totalCycles == gemm.cycles - 1 && r.stallCycles == 0)
        #expect(abs(r.mappingEfficiencyPercent / 100 - gemm.mappingEfficiency) < 1e-12)
    }

    @Test func im2colAddressesFollowSCALESim() {
        // 5×5 ifmap, 3 channels, 3×3 filter, stride 2: ofmap 2×2. Pixel 3 = (1, 1) starts at ifmap
        // (2, 2); window element 13 = filter row 1, column 1, channel 1.
        let l = ScaleSimLayer(name: "c", line: 2, ifmapHeight: 5, ifmapWidth: 5, filterHeight: 3, filterWidth: 3,
                              channels: 3, filters: 4, strideHeight: 2, strideWidth: 2)
        #expect(l.ofmapHeight == 2 && l.ofmapWidth == 2)
        #expect(l.ifmapAddress(pixel: 3, window: 13, offset: 100) == 100 + ((2 * 5 + 2) * 3) + ((1 * 5 + 1) * 3) + 1)
        #expect(l.ifmapAddress(pixel: 0, window: 0, offset: 0) == 0)
        // 6 wide with a 3-wide filter and stride 2: SCALE-Sim counts ⌈5/2⌉ = 3 columns; the last
        // window sticks out one column, and those elements are no requests (−1).
        let m = ScaleSimLayer(name: "c", line: 2, ifmapHeight: 3, ifmapWidth: 6, filterHeight: 3, filterWidth: 3,
                              channels: 1, filters: 1, strideHeight: 2, strideWidth: 2)
        #expect(m.ofmapWidth == 3)
        #expect(m.ifmapAddress(pixel: 2, window: 1, offset: 0) == 5 && m.ifmapAddress(pixel: 2, window: 2, offset: 0) == -1)
    }

    @Test func pythonFloatFormat() {
        #expect(ScaleSimReports.pythonFloat(9) == "9.0")
        #expect(ScaleSimReports.pythonFloat(-16) == "-16.0")
        #expect(ScaleSimReports.pythonFloat(9.777777777777779) == "9.777777777777779")
        #expect(ScaleSimReports.pythonFloat(1e-5) == "1e-05")
        #expect(ScaleSimReports.pythonFloat(9999999999999998) == "9999999999999998.0")
        #expect(ScaleSimReports.pythonFloat(1e16) == "1e+16")
    }

    // MARK: bad inputs

    /// A SCALE-Sim config (its own configs/scale.cfg with a 4×4 array and 1 kB SRAMs).
    static let goodConfig: String = {
        (try? String(contentsOfFile: (reportsDir as NSString).appendingPathComponent("gemm_os_4x4_1k/scale.cfg"), encoding: .utf8)) ?? ""
    }()
    static let memoryBanksWarning = "s.cfg:15: [architecture_presets] MemoryBanks: unknown key, ignored (SCALE-Sim 3.0.0 does not read it)"

    func parseConfig(_ text: String) throws -> (ScaleSimConfig, [String]) {
        var warnings: [String] = []
        let c = try ScaleSimConfig.parse(text, file: "s.cfg", warnings: &warnings)
        return (c, warnings)
    }

    func configError(_ text: String) -> String {
        do { _ = try parseConfig(text); return "no error" } catch { return "\(error)" }
    }

    @Test func goodConfigMapsEveryArrayField() throws {
        let (c, warnings) = try parseConfig(Self.goodConfig.replacingOccurrences(of: "Dataflow : os", with: "dataflow = ws"))
        #expect(c == ScaleSimConfig(runName: "gemm_os_4x4_1k", arrayRows: 4, arrayCols: 4, dataflow: .ws, ifmapSRAMKB: 1, filterSRAMKB: 1, ofmapSRAMKB: 1))
        #expect(warnings == [Self.memoryBanksWarning], "\(warnings)")
    }

    @Test(arguments: [
        ("ArrayHeight:    4", "ArrayHeight:    four", "s.cfg:5:1: [architecture_presets] ArrayHeight: expected an integer in 1...65536, got 'four'"),
        ("Dataflow : os", "Dataflow : OS", "s.cfg:14:1: [architecture_presets] Dataflow: expected os, ws or is, got 'OS'"),
        ("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER", "s.cfg:37:1: [run_presets] InterfaceBandwidth: USER (a user-given DRAM bandwidth with stalls) is not supported"),
        ("InterfaceBandwidth: CALC", "InterfaceBandwidth: calc", "s.cfg:37:1: [run_presets] InterfaceBandwidth: expected CALC or USER, got 'calc'"),
        ("UseRamulatorTrace: False", "UseRamulatorTrace: True", "s.cfg:38:1: [run_presets] UseRamulatorTrace: True (Ramulator DRAM latency traces) is not supported"),
        ("SparsitySupport : false", "SparsitySupport : TRUE", "s.cfg:30:1: [sparsity] SparsitySupport: true (structured-sparse filters) is not supported"),
        ("OfmapSramSzkB:   1", "OfmapSramSzkB:   0", "s.cfg:9:1: [architecture_presets] OfmapSramSzkB: expected an integer in 1...1073741824, got '0'"),
        ("IfmapOffset:    0", "IfmapOffset:    -5", "s.cfg:10:1: [architecture_presets] IfmapOffset: expected an integer in 0...281474976710656, got '-5'"),
        ("ArrayWidth:     4", "", "s.cfg: [architecture_presets] ArrayWidth: missing key; SCALE-Sim requires it"),
        ("[general]\nrun_name = gemm_os_4x4_1k", "", "s.cfg: [general] run_name: missing (no [general] section); SCALE-Sim requires it"),
        ("run_name = gemm_os_4x4_1k", "run_name = a/b", "s.cfg:2:1: [general] run_name: expected a directory name (no '/'), got 'a/b'"),
        ("ArrayWidth:     4", "ArrayWidth     4", "s.cfg:6:1: expected 'key = value' or 'key: value', got 'ArrayWidth     4'"),
        ("ArrayWidth:     4", "ArrayWidth:     4\narraywidth = 8", "s.cfg:7:1: [architecture_presets] arraywidth: given twice"),
        ("ArrayWidth:     4", "ArrayWidth:     4\n  8", "s.cfg:7:1: indented line: multi-line values are not supported (SCALE-Sim's keys are one line each)"),
        ("[general]", "run_name = x\n[general]", "s.cfg:1:1: expected a section header such as [architecture_presets] before 'run_name = x'"),
        ("IfmapCustomLayout: False", "IfmapCustomLayout: maybe", "s.cfg:20:1: [layout] IfmapCustomLayout: expected True or False, got 'maybe'"),
    ])
    func badConfigIsLocated(_ edit: (String, String, String)) {
        let text = Self.goodConfig.replacingOccurrences(of: edit.0, with: edit.1)
        #expect(text != Self.goodConfig)
        #expect(configError(text).hasPrefix(edit.2), "\(configError(text))")
    }

    @Test func ignoredAndMissingKeysAreWarnedOnce() throws {
        var text = Self.goodConfig.replacingOccurrences(of: "IfmapCustomLayout: False", with: "IfmapCustomLayout: True")
        text = text.replacingOccurrences(of: "ReadRequestBuffer: 32\n", with: "Banks: 2\n")
        text = text.replacingOccurrences(of: "UseRamulatorTrace: False", with: "UseRamulatorTrace: yes")
        text += "[extra]\nx = 1\n"
        let (_, w) = try parseConfig(text)
        #expect(w == [
            "s.cfg:38: [run_presets] UseRamulatorTrace: 'yes' is taken as False, as SCALE-Sim does (only 'True' enables it)",
            "s.cfg:20: [layout] IfmapCustomLayout: ignored; custom SRAM layouts change nothing in CALC mode (SCALE-Sim uses them only with InterfaceBandwidth USER), and no layout file is read",
            Self.memoryBanksWarning,
            "s.cfg:16: [architecture_presets] Banks: unknown key, ignored (SCALE-Sim 3.0.0 does not read it)",
            "s.cfg:39: [extra]: unknown section, ignored (SCALE-Sim 3.0.0 does not read it)",
            "s.cfg: missing keys that SCALE-Sim 3.0.0 requires but that do not change the reports (defaults used): [architecture_presets] ReadRequestBuffer",
        ])
    }

    func topologyError(_ text: String, kind: ScaleSimTopology.Kind = .conv) -> String {
        var w: [String] = []
        do { _ = try ScaleSimTopology.parse(text, file: "t.csv", kind: kind, warnings: &w); return "no error" } catch { return "\(error)" }
    }

    @Test func badTopologyIsLocated() {
        let header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        #expect(topologyError(header + "c, 8, 8, 3, 3, 4, 2, 1") == "t.csv:2: expected the row to end with ',' (SCALE-Sim ignores the text after the last comma, so this row would lose its last field)")
        #expect(topologyError(header + "c, 8, 8, 3, x, 4, 2, 1,") == "t.csv:2: Filter Width: expected a positive integer, got 'x'")
        #expect(topologyError(header + "\nc, 8, 8, 9, 3, 4, 2, 1,") == "t.csv:3: Filter Height: 9 is larger than the IFMAP Height 8")
        #expect(topologyError(header + "g, 4, 4, 4,") == "t.csv:2: expected 8 fields (name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides) and an optional N:M sparsity ratio, got 4 (a GEMM row? use -i gemm)")
        #expect(topologyError("Layer, M, N, K,\ng, 4, 0, 4,", kind: .gemm) == "t.csv:2: N: expected a positive integer, got '0'")
        #expect(topologyError("Layer, M, N, K,\ng, 4, 4, 4, 3:2,", kind: .gemm) == "t.csv:2: sparsity ratio: expected N:M with 1 <= N <= M, got '3:2'")
        #expect(topologyError(header + "\n\n") == "t.csv: no layers (the first line is the header; layers follow, one per line)")
    }

    @Test func topologyFollowsSCALESimConventions() throws {
        var w: [String] = []
        // Depthwise ("DP" in the name): one single-channel layer per channel; GEMM rows become 1×K filters.
        let conv = try ScaleSimTopology.parse("h\nDPc, 6, 6, 3, 3, 3, 1, 1, 2:4,\n", file: "t.csv", kind: .conv, warnings: &w)
        #expect(conv.map(\.name) == ["DPcChannel_0", "DPcChannel_1", "DPcChannel_2"] && conv.allSatisfy { $0.channels == 1 })
        #expect(w == ["t.csv:2: sparsity ratio 2:4 ignored: [sparsity] SparsitySupport is false (SCALE-Sim ignores it too)"])
        w = []
        let gemm = try ScaleSimTopology.parse("g, 1, 2, 3,\ng, 20, 33, 8,\n", file: "t.csv", kind: .gemm, warnings: &w)
        #expect(gemm.count == 1 && gemm[0].ofmapPixels == 20 && gemm[0].windowSize == 8 && gemm[0].filters == 33)
        #expect(w == ["t.csv:1: the first line is taken as the header and skipped, as SCALE-Sim does, but it looks like a layer"])
    }
}
