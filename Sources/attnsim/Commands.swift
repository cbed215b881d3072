import Accelerator
import AttnCore
import Experiments
import Foundation

/// The commands that work, in help order.
func allCommands() -> [CommandSpec] {
    [runCommand(sweep: false), runCommand(sweep: true), evalCommand(), mergeCommand(), calibrateCommand(), recordCommand(), gemmCommand(), scalesimCommand(), inspectCommand(), plotCommand(), tableCommand(), columnsCommand(), dramCommand()]
}

func runCommand(sweep: Bool) -> CommandSpec {
    var options: [OptionSpec] = [
        .value("--out", "FILE", "CSV output file, '-' for stdout", default: "-"),
        .value("--detail", "LEVEL", "rows per phase (summary), also per layer (layer) or per layer and KV head (head)", default: "summary"),
        .repeated("--set", "KEY=VALUE", "override a config value, e.g. --set hardware.array.rows=64 (repeatable)"),
        .flag("--print-config", "print each point's resolved config (canonical form) and its config_id, and exit"),
        .flag("--quiet", "no progress line"),
    ]
    if sweep {
        options += [
            .value("--max-points", "N", "refuse sweeps that expand to more points", default: "100000"),
            .flag("--resume", "keep the finished points already in --out and run only the others"),
            .value("--shard", "I/N", "run only the points whose index % N == I (0 ≤ I < N); combine shards with 'attnsim merge'"),
        ]
    } else {
        options += [
            .value("--dram-trace", "FILE", "write the banked DRAM model's requests as a DRAMsim3 trace (0xADDR READ|WRITE cycle)"),
            .value("--dram-trace-streams", "LIST", "only these request streams in the trace: q,k,v,out,index", default: "q,k,v,out,index"),
        ]
    }
    return CommandSpec(
        name: sweep ? "sweep" : "run",
        summary: sweep ? "Replay traces through every point of a config's sweep and write a CSV report."
                       : "Replay traces through one accelerator configuration and write a CSV report.",
        positionals: ["CONFIG"],
        options: options,
        discussion: """
        CONFIG is a YAML-subset file (docs/config-language.md, docs/config-reference.md). Trace paths in it
        are relative to the config file. Columns: docs/report-columns.md (or 'attnsim columns').
        """ + (sweep ? """

        The CSV is rewritten atomically as points finish (at most once a second) and at the end, always
        in point order: Ctrl-C or a kill leaves a valid CSV of the finished points, and --resume continues
        it. Sharding and merging: docs/cluster.md.
        """ : "\nThe output is written atomically. A config with a sweep: or zip: section must be run with 'attnsim sweep'."),
        run: { args in try runOrSweep(args, sweep: sweep) })
}

func runOrSweep(_ args: ParsedArguments, sweep: Bool) throws {
    let (out, resume) = try outputFlags(args)
    let detail = try args.choice("--detail", default: ReportDetail.summary)
    let maxPoints = sweep ? try args.int("--max-points", default: 100_000) : 1
    var shard: (index: Int, count: Int)?
    if let text = args.string("--shard") {
        let parts = text.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
            throw AttnError.usage(flag: "--shard", message: "expected I/N with 0 ≤ I < N, got '\(text)'")
        }
        shard = (i, n)
    }
    let all = try ExperimentLoader.load(path: args.positionals[0], overrides: args.all("--set"),
                                        maxPoints: maxPoints, allowSweep: sweep)
    if args.has("--print-config") {
        printConfigs(all.map { ($0.index, $0.configID, $0.config.node) })
        return
    }
    var inputs = ConfigLoader.chainFiles(path: args.positionals[0])
    for p in all { inputs += p.config.traces + (p.config.thresholdsFile.map { [$0] } ?? []) }
    try OutputGuard.check(output: out, flag: "--out", inputs: inputs)
    let paths = sweptPaths(all.map(\.swept))
    let banked = all.contains { $0.config.hardware.dram.model == .banked }
    let header = ReportRow.header(sweptPaths: paths, dram: banked)
    let existing = resume ? try SweepOutput.resume(path: out, header: header, points: all.map { p in
        SweepOutput.Expected(configID: p.configID, traces: p.config.traces.map { ($0 as NSString).lastPathComponent },
                             phases: p.config.phases.map(\.rawValue), swept: p.swept)
    }, detail: detail.rawValue) : [:]
    let points = all.filter { p in
        (shard.map { p.index % $0.count == $0.index } ?? true) && existing[p.index] == nil
    }
    let output = SweepOutput(path: out, header: header, existing: existing)
    let cancel = CancellationFlag()
    let signals = installInterruptHandlers(cancel)
    defer { _ = signals }
    let progress = ProgressLine(total: points.count, quiet: args.has("--quiet"))
    let pathsCopy = paths
    let trace = try dramTraceFlags(args, points: points)
    _ = try Runner(detail: detail, dramTrace: trace?.recorder).run(points, progress: progress, cancel: cancel) { i, rows in
        output.add(point: points[i].index, rows: rows.map { $0.fields(sweptPaths: pathsCopy, dram: banked) })
    }
    progress.finish()
    try finishOutput(output, cancel: cancel, points: all.count)
    if let trace { try AtomicFile.write(trace.recorder.contents, to: trace.path) }
}

/// `run --dram-trace FILE [--dram-trace-streams q,k,v,out,index]`: the banked model's request
/// addresses in DRAMsim3's trace format.
func dramTraceFlags(_ args: ParsedArguments, points: [ExperimentPoint]) throws -> (path: String, recorder: DRAMTraceRecorder)? {
    guard let path = args.string("--dram-trace") else {
        if args.string("--dram-trace-streams") != nil { throw AttnError.usage(flag: "--dram-trace-streams", message: "needs --dram-trace FILE") }
        return nil
    }
    try AtomicFile.checkWritable(path, flag: "--dram-trace")
    guard points.allSatisfy({ $0.config.hardware.dram.model == .banked }) else {
        throw AttnError.usage(flag: "--dram-trace", message: "needs the banked DRAM model: set hardware.dram.model: banked (e.g. --set hardware.dram.model=banked)")
    }
    var streams = Set(DRAMTraceRecorder.Stream.allCases)
    if let text = args.string("--dram-trace-streams") {
        streams = []
        for name in text.split(separator: ",") {
            guard let s = DRAMTraceRecorder.Stream(rawValue: String(name)) else {
                throw AttnError.usage(flag: "--dram-trace-streams", message: "expected a comma-separated list of q, k, v, out, index, got '\(text)'")
            }
            streams.insert(s)
        }
    }
    return (path, DRAMTraceRecorder(streams: streams))
}

/// `--out` checked writable before any work, and `--resume` (which needs a file).
func outputFlags(_ args: ParsedArguments) throws -> (out: String, resume: Bool) {
    let out = args.string("--out") ?? "-"
    try AtomicFile.checkWritable(out, flag: "--out")
    let resume = args.has("--resume")
    if resume && out == "-" { throw AttnError.usage(flag: "--resume", message: "needs --out FILE (the CSV to continue)") }
    return (out, resume)
}

/// `--print-config`: each point's config_id and canonical config.
func printConfigs(_ points: [(index: Int, id: String, node: ConfigNode)]) {
    for p in points {
        print("# point \(p.index) config_id \(p.id)")
        print(p.node.canonicalText)
    }
}

/// The swept key paths of all points, in first-seen order: the report's trailing columns.
func sweptPaths(_ swept: [[SweptValue]]) -> [String] {
    var paths: [String] = []
    for values in swept { for s in values where !paths.contains(s.path) { paths.append(s.path) } }
    return paths
}

/// Writes the CSV of every finished point; after an interrupt, says how many of `points` it holds.
func finishOutput(_ output: SweepOutput, cancel: CancellationFlag, points: Int) throws {
    try output.flush()
    if cancel.isSet {
        let out = output.path
        throw AttnError.runtime("interrupted: \(output.finishedPoints) of \(points) points are in \(out == "-" ? "the output" : out)"
                                + (out == "-" ? "" : "; rerun with --resume to finish"))
    }
}

/// SIGINT and SIGTERM set `cancel` (the first time); workers stop taking new points and the CSV of
/// finished points is written before exiting.
func installInterruptHandlers(_ cancel: CancellationFlag) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
            if !cancel.isSet {
                FileHandle.standardError.write(Data("\nattnsim: interrupted; finishing the points under way and writing the CSV\n".utf8))
            }
            cancel.set()
        }
        source.resume()
        return source
    }
}

func mergeCommand() -> CommandSpec {
    CommandSpec(
        name: "merge",
        summary: "Combine the CSVs of a sharded sweep into one, checking for duplicate and missing points.",
        positionals: ["CSV..."],
        options: [
            .value("--out", "FILE", "merged CSV, '-' for stdout", default: "-"),
            .value("--config", "CONFIG", "the sweep's config: check every point is present with its config_id"),
            .repeated("--set", "KEY=VALUE", "overrides used with the sweep (with --config)"),
        ],
        discussion: "Rows come out in point order, so merged shards equal the unsharded sweep's CSV.",
        run: { args in
            let out = args.string("--out") ?? "-"
            try AtomicFile.checkWritable(out, flag: "--out")
            let ids = try args.string("--config").map { c throws(AttnError) in
                try ExperimentLoader.load(path: c, overrides: args.all("--set")).map(\.configID)
            }
            try OutputGuard.check(output: out, flag: "--out", inputs: args.positionals + (args.string("--config").map(ConfigLoader.chainFiles) ?? []))
            try AtomicFile.write(try SweepMerge.merge(args.positionals, configIDs: ids), to: out)
        })
}

func gemmCommand() -> CommandSpec {
    CommandSpec(
        name: "gemm",
        summary: "Cycles, folds, utilization and SRAM accesses of one GEMM on the systolic array.",
        positionals: [],
        options: [
            .value("--m", "M", "output rows"), .value("--k", "K", "reduction length"), .value("--n", "N", "output columns"),
            .value("--rows", "R", "array rows", default: "32"), .value("--cols", "C", "array columns", default: "32"),
            .value("--dataflow", "DF", "os, ws or is", default: "os"),
            .value("--schedule", "S", "scalesim (folds fill and drain one after another) or overlapped", default: "scalesim"),
            .value("--a-bits", "B", "element width of A (bits)", default: "8"),
            .value("--b-bits", "B", "element width of B (bits)", default: "8"),
            .value("--out-bits", "B", "element width of outputs / partial sums (bits)", default: "32"),
            .flag("--csv", "print one CSV header and row instead of text"),
        ],
        discussion: """
        Computes out[M][N] = A[M][K]·B[K][N]. Cycles are a count; SCALE-Sim prints the index of the last
        cycle (one less): its figure is shown as scalesim_printed_cycles. See docs/model.md.
        """,
        run: { args in
            let m = try args.int("--m", range: 1...1 << 40), k = try args.int("--k", range: 1...1 << 40)
            let n = try args.int("--n", range: 1...1 << 40)
            let array = SystolicArray(rows: try args.int("--rows", default: 32, range: 1...1 << 20),
                                      cols: try args.int("--cols", default: 32, range: 1...1 << 20),
                                      dataflow: try args.choice("--dataflow", default: SystolicArray.Dataflow.os),
                                      schedule: try args.choice("--schedule", default: SystolicArray.FoldSchedule.scalesim))
            let aBits = try args.int("--a-bits", default: 8, range: 1...64), bBits = try args.int("--b-bits", default: 8, range: 1...64)
            let oBits = try args.int("--out-bits", default: 32, range: 1...64)
            // Sizes up to 2^40 are accepted, so counts are checked: an overflow names the flags and the limit.
            func tooLarge(_ e: CountOverflow) -> AttnError {
                .usage(flag: "--m/--k/--n/--rows/--cols", message: "M=\(m) K=\(k) N=\(n) on \(array.rows)×\(array.cols) (\(array.dataflow.rawValue)): \(e.quantity) does not fit in 64 bits; the largest count accepted is \(Int.max) (2^63 − 1): use smaller sizes")
            }
            let c: SystolicArray.GEMMCost
            do throws(CountOverflow) { c = try array.checkedGemm(m: m, k: k, n: n) } catch { throw tooLarge(error) }
            func bytes(_ elements: Int, _ bits: Int, _ what: String) throws(AttnError) -> Int {
                // ⌈elements · bits / 8⌉ without forming elements · bits: elements = 8q + r.
                let (q, r) = elements.quotientAndRemainder(dividingBy: 8)
                do throws(CountOverflow) { return try CheckedCount.sum(try CheckedCount.product(q, bits, quantity: what), (r * bits + 7) / 8, quantity: what) }
                catch { throw tooLarge(error) }
            }
            let aBytes = try bytes(c.aReads, aBits, "SRAM A read bytes"), bBytes = try bytes(c.bReads, bBits, "SRAM B read bytes")
            let outBytes = try bytes(c.outWrites, oBits, "SRAM output write bytes")
            let fields: [(String, String)] = [
                ("m", "\(m)"), ("k", "\(k)"), ("n", "\(n)"), ("rows", "\(array.rows)"), ("cols", "\(array.cols)"),
                ("dataflow", array.dataflow.rawValue), ("schedule", array.schedule.rawValue),
                ("cycles", "\(c.cycles)"), ("scalesim_printed_cycles", "\(c.cycles - 1)"),
                ("folds", "\(c.folds)"), ("row_folds", "\(c.rowFolds)"), ("col_folds", "\(c.colFolds)"),
                ("cycles_per_fold", "\(c.cyclesPerFold)"), ("macs", "\(c.macs)"),
                ("utilization", CSV.number(c.utilization)), ("mapping_efficiency", CSV.number(c.mappingEfficiency)),
                ("sram_a_reads", "\(c.aReads)"), ("sram_b_reads", "\(c.bReads)"), ("sram_out_writes", "\(c.outWrites)"),
                ("sram_a_read_bytes", "\(aBytes)"), ("sram_b_read_bytes", "\(bBytes)"),
                ("sram_out_write_bytes", "\(outBytes)"),
            ]
            if args.has("--csv") {
                print(CSV.record(fields.map(\.0)) + CSV.record(fields.map(\.1)), terminator: "")
            } else {
                let w = fields.map(\.0.count).max()!
                for (k, v) in fields { print(k + String(repeating: " ", count: w - k.count + 2) + v) }
            }
        })
}

func columnsCommand() -> CommandSpec {
    CommandSpec(
        name: "columns",
        summary: "List the report's CSV columns with their meaning and units.",
        positionals: [], options: [], discussion: "",
        run: { _ in
            for (name, meaning) in ReportRow.columns { print("\(name)\t\(meaning)") }
            for (name, meaning) in ReportRow.dramColumns { print("\(name)\t(banked DRAM model only) \(meaning)") }
        })
}

func plotCommand() -> CommandSpec {
    CommandSpec(
        name: "plot",
        summary: "Scatter plot of two report columns as SVG, Pareto front highlighted.",
        positionals: ["CSV"],
        options: [
            .value("--x", "COL", "column on the x axis"), .value("--y", "COL", "column on the y axis"),
            .value("--color", "COL", "column whose values colour the points"),
            .value("--out", "FILE", "SVG file to write ('-' for stdout)"),
            .value("--x-goal", "min|max", "better direction on x, for the Pareto front", default: "min"),
            .value("--y-goal", "min|max", "better direction on y, for the Pareto front", default: "min"),
            .repeated("--where", "COL=VALUE", "keep only rows where COL equals VALUE (repeatable)"),
            .value("--title", "TEXT", "plot title"),
            .flag("--log-x", "logarithmic x axis"), .flag("--log-y", "logarithmic y axis"),
        ],
        discussion: "Rows whose x or y is not a number are skipped (and counted on stderr).",
        run: { args in
            let out = try args.required("--out")
            try OutputGuard.check(output: out, flag: "--out", inputs: args.positionals)
            let table = try CSVTable(path: args.positionals[0])
            let xi = try table.columnIndex(try args.required("--x")), yi = try table.columnIndex(try args.required("--y"))
            let ci = try args.string("--color").map { c throws(AttnError) in try table.columnIndex(c) }
            var filters: [(Int, String)] = []
            for (column, value) in try whereFilters(args) { filters.append((try table.columnIndex(column), value)) }
            let rows = table.rows.filter { row in filters.allSatisfy { row[$0.0] == $0.1 } }
            // config_id (hex, e.g. 21e444765893) and columns without any number are categories: each
            // distinct value gets a position, in first-seen order.
            func categories(_ c: Int) -> [String: Int]? {
                let numeric = table.columns[c] != "config_id" && rows.contains { Double($0[c]).map(\.isFinite) ?? false }
                if numeric { return nil }
                var index: [String: Int] = [:]
                for r in rows where index[r[c]] == nil { index[r[c]] = index.count }
                return index
            }
            let xCategories = categories(xi), yCategories = categories(yi)
            func coordinate(_ row: [String], _ c: Int, _ cats: [String: Int]?) -> Double? {
                if let cats { return cats[row[c]].map(Double.init) }
                return Double(row[c]).flatMap { $0.isFinite ? $0 : nil }
            }
            func names(_ cats: [String: Int]?) -> [String]? { cats.map { $0.sorted { $0.value < $1.value }.map(\.key) } }
            var points: [ScatterPlot.Point] = []
            var skipped = 0
            for row in rows {
                guard let x = coordinate(row, xi, xCategories), let y = coordinate(row, yi, yCategories) else { skipped += 1; continue }
                points.append(ScatterPlot.Point(x: x, y: y, group: ci.map { row[$0] } ?? ""))
            }
            guard !points.isEmpty else { throw AttnError.input(file: table.file, item: nil, message: "no row has numbers in both \(table.columns[xi]) and \(table.columns[yi])") }
            if skipped > 0 { FileHandle.standardError.write(Data("attnsim: plot: skipped \(skipped) rows without numbers\n".utf8)) }
            var plot = ScatterPlot(points: points, xLabel: axisLabel(forColumn: table.columns[xi]),
                                   yLabel: axisLabel(forColumn: table.columns[yi]), colorLabel: ci.map { table.columns[$0] },
                                   title: args.string("--title") ?? "")
            plot.xGoal = try args.choice("--x-goal", default: ScatterPlot.Goal.minimize)
            plot.yGoal = try args.choice("--y-goal", default: ScatterPlot.Goal.minimize)
            plot.xCategories = names(xCategories)
            plot.yCategories = names(yCategories)
            plot.logX = args.has("--log-x")
            plot.logY = args.has("--log-y")
            try AtomicFile.write(plot.svg(), to: out)
        })
}

func inspectCommand() -> CommandSpec {
    CommandSpec(
        name: "inspect",
        summary: "Describe a trace: model, shapes, value ranges, outliers and attention-probability statistics.",
        positionals: ["TRACE"],
        options: [.flag("--allow-nonfinite", "accept NaN/Inf values in Q/K/V")],
        discussion: "The trace is validated completely first; statistics use exact float attention.",
        run: { args in
            let r = try TraceReader(path: args.positionals[0], options: TraceReadOptions(allowNonFinite: args.has("--allow-nonfinite")))
            print(TraceInspector.report(r, statistics: try TraceInspector.statistics(r)), terminator: "")
        })
}

func calibrateCommand() -> CommandSpec {
    CommandSpec(
        name: "calibrate",
        summary: "Calibrate Top-θ thresholds for a config's traces and write them to a file.",
        positionals: ["CONFIG"],
        options: [
            .value("--out", "FILE", "thresholds file to write (safetensors)"),
            .repeated("--set", "KEY=VALUE", "override a config value (repeatable)"),
        ],
        discussion: """
        Uses the config's attention section (datapath and Top-θ k, placement, std_factor) and its
        calibration.sequences. Reference the file from another config with calibration.thresholds: FILE
        (its evaluation must not use the calibration sequences). Format: docs/algorithms.md.
        """,
        run: { args in
            let out = try args.required("--out")
            try AtomicFile.checkWritable(out, flag: "--out")
            let points = try ExperimentLoader.load(path: args.positionals[0], overrides: args.all("--set"), allowSweep: false)
            let c = points[0].config
            try OutputGuard.check(output: out, flag: "--out", inputs: ConfigLoader.chainFiles(path: args.positionals[0])
                                  + c.traces + (c.thresholdsFile.map { [$0] } ?? []))
            guard case .topTheta(let t) = c.attention.pruning else {
                throw AttnError.usage(flag: nil, message: "\(args.positionals[0]): attention.pruning.kind must be top_theta to calibrate thresholds")
            }
            let runner = Runner()
            try runner.openTraces(points)
            var entries: [(trace: String, thresholds: TopThetaThresholds)] = []
            // A thresholds file keys its entries by trace file stem: a trace listed twice is calibrated
            // once, two traces with one stem cannot share a file.
            for trace in c.traces where !entries.contains(where: { $0.trace == trace }) {
                if let other = entries.first(where: { ThresholdsFile.stem($0.trace) == ThresholdsFile.stem(trace) }) {
                    throw AttnError.usage(flag: nil, message: "\(args.positionals[0]): traces '\(other.trace)' and '\(trace)' have the same file name stem; a thresholds file names its entries by it: calibrate them separately")
                }
                entries.append((trace, try runner.calibrate(c, trace: trace)))
            }
            try ThresholdsFile.write(entries, metadata: [
                "config_id": c.configID, "k": String(t.k), "placement": t.placement.rawValue,
                "calibration_sequences": c.calibrationSequences.map(String.init).joined(separator: " "),
                "traces": c.traces.map { ($0 as NSString).lastPathComponent }.joined(separator: " "),
            ], to: out)
            FileHandle.standardError.write(Data("attnsim: wrote thresholds for \(entries.count) trace(s) to \(out)\n".utf8))
        })
}

func recordCommand() -> CommandSpec {
    CommandSpec(
        name: "record",
        summary: "Run a reference model over text and record its attention as a trace.",
        positionals: [],
        options: [
            .value("--model", "PATH", "a BERT directory (config.json, model.safetensors, vocab.txt) or a Llama-family .gguf file"),
            .value("--text", "FILE", "text, one sequence per non-empty line"),
            .value("--out", "TRACE", "trace file to write (.safetensors)"),
            .value("--max-tokens", "N", "truncate each sequence's prompt to N tokens", default: "128"),
            .value("--sequences", "N", "record only the first N lines"),
            .value("--generate", "N", "decoder only: append N greedy tokens per line, recorded as decode rows", default: "0"),
            .value("--passage", "LINE", "decoder only: record one sequence, the text from line LINE on as one passage (long context), not one per line"),
            .value("--dtype", "f16|f32", "storage of Q, K, V", default: "f16"),
        ],
        discussion: "Q and K are recorded after any rotary embedding, exactly as the attention unit sees them (docs/trace-format.md).",
        run: { args in
            var o = RecordOptions(model: try args.required("--model"), text: try args.required("--text"), out: try args.required("--out"))
            try OutputGuard.check(output: o.out, flag: "--out", inputs: [o.model, o.text])
            o.maxTokens = try args.int("--max-tokens", default: 128, range: 1...1_000_000)
            o.sequences = try args.int("--sequences", default: Int.max, range: 1...Int.max)
            o.generate = try args.int("--generate", default: 0, range: 0...1_000_000)
            switch args.string("--dtype") ?? "f16" {
            case "f16": o.dtype = .f16
            case "f32": o.dtype = .f32
            case let d: throw AttnError.usage(flag: "--dtype", message: "expected f16 or f32, got '\(d)'")
            }
            if o.generate > 0 && !o.model.hasSuffix(".gguf") {
                throw AttnError.usage(flag: "--generate", message: "needs a decoder (.gguf); an encoder has no decode phase")
            }
            if args.string("--passage") != nil {
                o.passageLine = try args.int("--passage", default: 1, range: 1...Int.max)
                if !o.model.hasSuffix(".gguf") {
                    throw AttnError.usage(flag: "--passage", message: "needs a decoder (.gguf); encoders take one sequence per line")
                }
            }
            let summary = try Recording.record(o)
            FileHandle.standardError.write(Data("attnsim: \(summary)\n".utf8))
        })
}

func evalCommand() -> CommandSpec {
    CommandSpec(
        name: "eval",
        summary: "Run a real model with the accelerator's arithmetic in every attention call; task accuracy next to cost.",
        positionals: ["CONFIG"],
        options: [
            .value("--out", "FILE", "CSV output file, '-' for stdout", default: "-"),
            .repeated("--set", "KEY=VALUE", "override a config value, e.g. --set attention.pruning.k=8 (repeatable)"),
            .value("--max-points", "N", "refuse sweeps that expand to more points", default: "100000"),
            .flag("--resume", "keep the finished points already in --out and run only the others"),
            .flag("--print-config", "print each point's resolved config (canonical form) and its config_id, and exit"),
            .flag("--quiet", "no progress line and no notes on stderr"),
        ],
        discussion: """
        CONFIG has an eval: section (task: sentiment or language_model, the model and its data; docs/eval.md)
        besides hardware: and attention:, and may sweep. The models and texts come from Scripts/fetch-assets.
        A sentiment config trains its logistic-regression head on float embeddings the first time
        (eval.head) and reuses it afterwards, so every configuration is scored by the same head.
        Points that differ only in hardware share one model run. The CSV is rewritten atomically as
        points finish; Ctrl-C leaves the finished points, --resume continues.
        """,
        run: { args in try evaluate(args) })
}

func evaluate(_ args: ParsedArguments) throws {
    let (out, resume) = try outputFlags(args)
    let points = try EvalLoader.load(path: args.positionals[0], overrides: args.all("--set"),
                                     maxPoints: try args.int("--max-points", default: 100_000))
    if args.has("--print-config") {
        printConfigs(points.map { ($0.index, $0.configID, $0.config.node) })
        return
    }
    for p in points {
        var files: [String] = [p.config.model]
        files += p.config.languageModel.texts
        files += p.config.languageModel.calibrationTexts
        if p.config.task == .sentiment { files.append(p.config.sentiment.data) }
        for file in files where !FileManager.default.fileExists(atPath: file) {
            throw AttnError.input(file: file, item: nil, message: "no such file (point \(p.index); the models and texts come from Scripts/fetch-assets)")
        }
        // A head to be trained must be writable before minutes of training (its folder is created).
        let head = p.config.sentiment.head
        if p.config.task == .sentiment && !FileManager.default.fileExists(atPath: head) {
            let dir = (head as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            try AtomicFile.checkWritable(head, flag: "eval.head")
        }
    }
    var inputs = ConfigLoader.chainFiles(path: args.positionals[0])
    for p in points {
        inputs += [p.config.model, p.config.sentiment.data, p.config.sentiment.head]
        inputs += p.config.languageModel.texts + p.config.languageModel.calibrationTexts
    }
    try OutputGuard.check(output: out, flag: "--out", inputs: inputs)
    let paths = sweptPaths(points.map(\.swept))
    let header = EvalRunner.header(sweptPaths: paths)
    let existing = resume ? try SweepOutput.resume(path: out, header: header, points: points.map { p in
        SweepOutput.Expected(configID: p.configID, swept: p.swept)
    }) : [:]
    let todo = points.filter { existing[$0.index] == nil }
    let output = SweepOutput(path: out, header: header, existing: existing)
    let cancel = CancellationFlag()
    let signals = installInterruptHandlers(cancel)
    defer { _ = signals }
    let quiet = args.has("--quiet")
    let progress = ProgressLine(total: todo.count, quiet: quiet)
    let note: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    let runner = EvalRunner(log: quiet ? nil : note)
    runner.prepare(todo)
    // Points that differ only in hardware share one model run; its activities are dropped after the last of them.
    var remaining: [String: Int] = [:]
    for p in todo { remaining[p.config.arithmeticKey, default: 0] += 1 }
    for p in todo {
        if cancel.isSet { break }
        output.add(point: p.index, rows: try runner.rows(for: p, sweptPaths: paths))
        remaining[p.config.arithmeticKey]! -= 1
        if remaining[p.config.arithmeticKey] == 0 { runner.release(p.config) }
        progress.advance()
    }
    progress.finish()
    try finishOutput(output, cancel: cancel, points: points.count)
}

func tableCommand() -> CommandSpec {
    CommandSpec(
        name: "table",
        summary: "Chosen columns of a report CSV as a Markdown table (how docs/results.md is made).",
        positionals: ["CSV"],
        options: [
            .value("--columns", "A,B,...", "columns to show, in order"),
            .repeated("--where", "COL=VALUE", "keep only rows where COL equals VALUE (repeatable)"),
            .value("--digits", "N", "significant digits of non-integer numbers", default: "4"),
            .value("--out", "FILE", "Markdown output, '-' for stdout", default: "-"),
        ],
        discussion: "Integers are printed whole; other numbers are rounded to --digits significant digits.",
        run: { args in
            let out = args.string("--out") ?? "-"
            try OutputGuard.check(output: out, flag: "--out", inputs: args.positionals)
            let table = try CSVTable(path: args.positionals[0])
            let columns = try args.required("--columns").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !columns.isEmpty, !columns.contains("") else {
                throw AttnError.usage(flag: "--columns", message: "expected a comma-separated list of column names")
            }
            let text = try MarkdownTable.render(table, columns: columns, filters: try whereFilters(args),
                                                digits: try args.int("--digits", default: 4, range: 1...17))
            if out == "-" { print(text, terminator: "") } else { try AtomicFile.write(text, to: out) }
        })
}

/// The `--where COL=VALUE` flags of `plot` and `table`.
func whereFilters(_ args: ParsedArguments) throws -> [(column: String, value: String)] {
    try args.all("--where").map { w in
        guard let eq = w.firstIndex(of: "=") else { throw AttnError.usage(flag: "--where", message: "expected COL=VALUE, got '\(w)'") }
        return (String(w[..<eq]), String(w[w.index(after: eq)...]))
    }
}
