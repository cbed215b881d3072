import Accelerator
import AttnCore
import Foundation

/// `attnsim dram`: the banked DRAM model on one request stream — a DRAMsim3-format trace or a
/// synthetic pattern — for checking it against DRAMsim3 (Scripts/dramsim3_golden.sh).
func dramCommand() -> CommandSpec {
    CommandSpec(
        name: "dram",
        summary: "Cycles, row-buffer hits, activates and energy of one DRAM request stream (banked model).",
        positionals: [],
        options: [
            .value("--preset", "NAME", "ddr4-3200, hbm2 or lpddr5", default: "ddr4-3200"),
            .value("--mode", "MODE", "fast (closed form) or detailed (event-driven list scheduler)", default: "fast"),
            .value("--page-policy", "P", "open or closed", default: "open"),
            .value("--mapping", "BITS", "address mapping, e.g. rochrababgco or bank-interleaved (default: the preset's)"),
            .value("--trace", "FILE", "requests in DRAMsim3's trace format (0xADDR READ|WRITE cycle)"),
            .value("--pattern", "P", "instead of --trace: sequential (dense stream), conflict (one bank, a new row each request), tiled-dense or tiled-sparse (a tiled decode's K and V stream, DRAMRequests.tiledDecode)"),
            .value("--requests", "N", "requests of --pattern sequential or conflict", default: "16384"),
            .value("--key-tile", "N", "keys per tile of --pattern tiled-dense or tiled-sparse", default: "32"),
            .value("--write-trace", "FILE", "write the stream in DRAMsim3's trace format (every request at cycle 0)"),
        ],
        discussion: """
        Prints one CSV header and row: total DRAM cycles (first request to last data), row-buffer hits,
        misses, conflicts, activates, hit rate and energy (activate, burst, background and refresh, pJ).
        Requests are issued as fast as the DRAM takes them (trace cycles are ignored). See docs/model.md.
        """,
        run: { args in
            var config = DRAMConfig.banked(try args.choice("--preset", default: DRAMPreset.ddr4_3200),
                                           pagePolicy: try args.choice("--page-policy", default: DRAMConfig.PagePolicy.open),
                                           mode: try args.choice("--mode", default: DRAMConfig.Mode.fast))
            if let m = args.string("--mapping") {
                switch AddressMapping.parse(m, spec: config.spec) {
                case .success(let parsed): config.mapping = parsed
                case .failure(let e): throw AttnError.usage(flag: "--mapping", message: e.message)
                }
            }
            let requests: DRAMRequests
            switch (args.string("--trace"), args.string("--pattern")) {
            case (let file?, nil):
                guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                    throw AttnError.input(file: file, item: nil, message: "cannot read the trace (missing, unreadable or not UTF-8)")
                }
                requests = try DRAMRequests.parse(text, file: file)
            case (nil, let p?):
                let n = try args.int("--requests", default: 16_384, range: 1...100_000_000)
                switch p {
                case "sequential": requests = .sequential(config.spec, count: n)
                case "conflict": requests = .bankConflict(config.spec, mapping: config.mapping, count: n)
                case "tiled-dense", "tiled-sparse":
                    let kt = try args.int("--key-tile", default: 32, range: 1...1_000_000)
                    requests = .tiledDecode(config, keyTile: kt, sparse: p == "tiled-sparse")
                default: throw AttnError.usage(flag: "--pattern", message: "expected sequential, conflict, tiled-dense or tiled-sparse, got '\(p)'")
                }
            default:
                throw AttnError.usage(flag: "--trace", message: "give exactly one of --trace FILE and --pattern P")
            }
            if let out = args.string("--write-trace") {
                try AtomicFile.checkWritable(out, flag: "--write-trace")
                try AtomicFile.write(requests.traceText, to: out)
            }
            let r = DRAMTraceReplay.run(requests, config: config)
            let s = r.stats
            let fields: [(String, String)] = [
                ("preset", config.preset.rawValue), ("mode", config.mode.rawValue), ("mapping", config.mapping.text),
                ("requests", "\(s.requests)"), ("cycles", CSV.number(r.cycles.rounded())), ("row_hits", "\(s.hits)"),
                ("row_misses", "\(s.misses)"), ("row_conflicts", "\(s.conflicts)"), ("activates", "\(s.activates)"),
                ("row_hit_rate", CSV.number(s.hitRate)), ("energy_pj", CSV.number(r.energyPJ.rounded())),
            ]
            print(CSV.record(fields.map(\.0)) + CSV.record(fields.map(\.1)), terminator: "")
        })
}
