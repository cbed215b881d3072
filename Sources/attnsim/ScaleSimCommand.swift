import AttnCore
import Experiments
import Foundation

/// `attnsim scalesim -c FILE.cfg -t TOPOLOGY.csv [-p OUTDIR] [-i gemm|conv]`: SCALE-Sim's own
/// command line and files; the work is in Sources/Experiments/ScaleSim.
func scalesimCommand() -> CommandSpec {
    func short(_ option: OptionSpec, _ letter: String) -> OptionSpec {
        var o = option
        o.short = letter
        return o
    }
    return CommandSpec(
        name: "scalesim",
        summary: "Run a SCALE-Sim 3.0.0 config and topology; write its COMPUTE, BANDWIDTH and DETAILED_ACCESS reports.",
        positionals: [],
        options: [
            short(.value("--config", "FILE.cfg", "SCALE-Sim config (INI: [general], [architecture_presets], [run_presets], ...)"), "-c"),
            short(.value("--topology", "TOPOLOGY.csv", "SCALE-Sim topology (conv rows, or GEMM rows 'name, M, N, K,' with -i gemm)"), "-t"),
            short(.value("--outdir", "OUTDIR", "reports go to OUTDIR/<run_name>/, as SCALE-Sim writes them", default: "./results"), "-p"),
            short(.value("--input-type", "TYPE", "conv or gemm: how to read the topology (SCALE-Sim's -i)", default: "conv"), "-i"),
            short(.value("--layout", "FILE", "SCALE-Sim layout file: accepted, not read (layouts change nothing in CALC mode)"), "-l"),
            short(.value("--save-trace", "Y|N", "accepted for SCALE-Sim's command line; trace files are never written"), "-s"),
        ],
        discussion: """
        Reproduces SCALE-Sim 3.0.0 in CALC interface-bandwidth mode: the same cycles, stalls, utilizations,
        SRAM and DRAM bandwidths and access counts, printed with SCALE-Sim's column names and number format
        (checked against real SCALE-Sim runs, Tests/Fixtures/scalesim/reports). Conv layers are lowered to
        GEMMs by im2col as SCALE-Sim does. Keys we do not model are refused (USER bandwidth, Ramulator,
        sparsity) or named in a one-line warning on stderr (keys SCALE-Sim ignores or that do not change
        the reports). SCALE-Sim's per-layer SRAM/DRAM trace files are not written. See docs/scalesim.md.
        """,
        run: { args in
            let config = try args.required("--config"), topology = try args.required("--topology")
            let kind = try args.choice("--input-type", default: ScaleSimTopology.Kind.conv)
            let outDir = args.string("--outdir") ?? "./results"
            var notes: [String] = []
            if args.string("--layout") != nil { notes.append("-l: the layout file is not read (custom layouts change nothing in CALC mode)") }
            if let s = args.string("--save-trace") {
                guard s == "Y" || s == "N" else { throw AttnError.usage(flag: "-s", message: "expected Y or N, got '\(s)'") }
                if s == "Y" { notes.append("-s Y: SRAM/DRAM trace files are not written (only the reports)") }
            }
            try ScaleSimRun.checkDirectory(outDir)
            let output = try ScaleSimRun.simulate(configPath: config, topologyPath: topology, kind: kind)
            for w in notes + output.warnings { FileHandle.standardError.write(Data("attnsim: warning: \(w)\n".utf8)) }
            let dir = try ScaleSimRun.write(output, outDir: outDir, inputs: [config, topology])
            print("wrote \(ScaleSimReports.fileNames.joined(separator: ", ")) for \(output.results.count) layers to \(dir)")
        })
}
