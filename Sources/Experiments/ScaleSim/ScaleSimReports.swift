import AttnCore
import Foundation

/// SCALE-Sim 3.0.0's report files (`simulator.generate_reports`), with its exact headers and number
/// formatting: one line per layer, `LayerID, v1, v2, ...,` (", " between fields, a trailing comma),
/// integers as Python prints them, floats as Python's `repr` (shortest round-trip digits, `9.0`,
/// `1e-05`). Cycles that SCALE-Sim keeps in numpy float arrays print as floats (`-16.0`).
///
/// COMPUTE_REPORT.csv
/// - Total Cycles (incl. prefetch): last OFMAP DRAM write cycle − first IFMAP/filter DRAM read cycle
///   (the prefetch before the first compute cycle is negative cycles).
/// - Total Cycles: cycle of the last OFMAP SRAM write = demand rows − 1 + stalls (SCALE-Sim prints
///   the index of the last cycle; `attnsim gemm` reports the count, one more).
/// - Stall Cycles: cycles the array waited for a full OFMAP buffer to drain.
/// - Overall Util %: MACs · 100 / (Total Cycles · R · C).
/// - Mapping Efficiency %: mean over folds of mapped PEs / (R · C), × 100.
/// - Compute Util %: mean over folds of mapped PEs · T / (R · C · fold cycles), × 100.
///
/// BANDWIDTH_REPORT.csv (words per cycle)
/// - Avg IFMAP/FILTER/OFMAP SRAM BW: SRAM requests / Total Cycles.
/// - Avg IFMAP/FILTER/OFMAP DRAM BW: DRAM words / (last − first DRAM trace cycle + 1).
///
/// DETAILED_ACCESS_REPORT.csv: the first and last cycle with an SRAM request and the request count
/// for each operand, then the same for DRAM.
public enum ScaleSimReports {
    public static let computeHeader = "LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n"
    public static let bandwidthHeader = "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n"
    public static let detailHeader = "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n"

    public static let fileNames = ["COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"]

    /// The three files' contents, in `fileNames` order.
    public static func render(_ results: [ScaleSimLayerResult]) -> [String] {
        var compute = computeHeader, bandwidth = bandwidthHeader, detail = detailHeader
        func line(_ id: Int, _ fields: [String]) -> String { "\(id), " + fields.joined(separator: ", ") + ",\n" }
        for (id, r) in results.enumerated() {
            compute += line(id, ["\(r.cyclesInclPrefetch)", "\(r.totalCycles)", "\(r.stallCycles)",
                                 pythonFloat(r.overallUtilPercent), pythonFloat(r.mappingEfficiencyPercent),
                                 pythonFloat(r.computeUtilPercent)])
            let total = Double(r.totalCycles)
            func dram(_ words: Int, _ start: Int, _ stop: Int) -> String { pythonFloat(Double(words) / Double(stop - start + 1)) }
            bandwidth += line(id, [pythonFloat(Double(r.ifmapSRAMReads) / total), pythonFloat(Double(r.filterSRAMReads) / total),
                                   pythonFloat(Double(r.ofmapSRAMWrites) / total),
                                   dram(r.ifmapDRAMReads, r.ifmapDRAMStart, r.ifmapDRAMStop),
                                   dram(r.filterDRAMReads, r.filterDRAMStart, r.filterDRAMStop),
                                   dram(r.ofmapDRAMWrites, r.ofmapDRAMStart, r.ofmapDRAMStop)])
            func f(_ cycle: Int) -> String { pythonFloat(Double(cycle)) }
            detail += line(id, [f(r.ifmapSRAMStart), f(r.ifmapSRAMStop), "\(r.ifmapSRAMReads)",
                                f(r.filterSRAMStart), f(r.filterSRAMStop), "\(r.filterSRAMReads)",
                                f(r.ofmapSRAMStart), f(r.ofmapSRAMStop), "\(r.ofmapSRAMWrites)",
                                f(r.ifmapDRAMStart), f(r.ifmapDRAMStop), "\(r.ifmapDRAMReads)",
                                f(r.filterDRAMStart), f(r.filterDRAMStop), "\(r.filterDRAMReads)",
                                f(r.ofmapDRAMStart), f(r.ofmapDRAMStop), "\(r.ofmapDRAMWrites)"])
        }
        return [compute, bandwidth, detail]
    }

    /// Python's `repr(float)`: shortest round-trip digits, scientific notation below 1e-4 and from
    /// 1e16 up. Swift's `description` agrees except that it switches to scientific at 2^53.
    public static func pythonFloat(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded(), abs(v) < 1e16 { return String(Int64(v)) + ".0" }
        return v.description
    }
}

/// `attnsim scalesim`: a SCALE-Sim run from its own config and topology files.
public enum ScaleSimRun {
    public struct Output: Sendable {
        public var config: ScaleSimConfig
        public var layers: [ScaleSimLayer]
        public var results: [ScaleSimLayerResult]
        public var warnings: [String]
    }

    /// Reads and simulates; writes nothing.
    public static func simulate(configPath: String, topologyPath: String, kind: ScaleSimTopology.Kind) throws(AttnError) -> Output {
        var warnings: [String] = []
        let config = try ScaleSimConfig.load(path: configPath, warnings: &warnings)
        let layers = try ScaleSimTopology.load(path: topologyPath, kind: kind, warnings: &warnings)
        var results: [ScaleSimLayerResult] = []
        for layer in layers {
            do {
                results.append(try ScaleSimLayerSim.run(layer, config: config))
            } catch let AttnError.runtime(message) {
                throw AttnError.input(file: "\(topologyPath):\(layer.line)", item: layer.name, message: message)
            }
        }
        return Output(config: config, layers: layers, results: results, warnings: warnings)
    }

    /// Where the reports go: `outDir/run_name/`, as SCALE-Sim writes them.
    public static func reportDirectory(outDir: String, runName: String) -> String {
        (outDir as NSString).appendingPathComponent(runName)
    }

    /// Fails early (before any simulation) when `path` exists and is not a directory.
    public static func checkDirectory(_ path: String) throws(AttnError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
            throw AttnError.usage(flag: "-p", message: "'\(path)' exists and is not a directory")
        }
    }

    /// Creates the report directory and writes the three reports, each atomically; refuses to
    /// replace an input file.
    public static func write(_ output: Output, outDir: String, inputs: [String]) throws(AttnError) -> String {
        let dir = reportDirectory(outDir: outDir, runName: output.config.runName)
        try checkDirectory(outDir)
        try checkDirectory(dir)
        let resolvedInputs = Set(inputs.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().standardizedFileURL.path })
        let paths = ScaleSimReports.fileNames.map { (dir as NSString).appendingPathComponent($0) }
        for path in paths where resolvedInputs.contains(URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path) {
            throw AttnError.usage(flag: "-p", message: "'\(path)' is an input file; choose another output directory")
        }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw AttnError.runtime("\(dir): cannot create the report directory (\(error.localizedDescription))")
        }
        for (path, text) in zip(paths, ScaleSimReports.render(output.results)) {
            try AtomicFile.write(text, to: path)
        }
        return dir
    }
}
