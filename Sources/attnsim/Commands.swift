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
            .value("--dram-trace-streams", "LIST", "only these request streams in the trace: q,k,v,out,index,spill", default: "q,k,v,out,index,spill"),
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
    let job = SweepJob(options: try jobOptions(args, sweep: sweep), sweep: sweep,
                       detail: try args.choice("--detail", default: ReportDetail.summary), dramTrace: try dramTraceFlags(args))
    let points = try job.points()
    if args.has("--print-config") { return printConfigs(points.map { ($0.index, $0.configID, $0.config.node) }) }
    let cancel = CancellationFlag()
    let signals = installInterruptHandlers(cancel)
    defer { _ = signals }
    try job.run(points, cancel: cancel)
}

/// The options `run`, `sweep` and `eval` share; `--shard` and `--max-points` only where the command has them.
func jobOptions(_ args: ParsedArguments, sweep: Bool) throws -> JobOptions {
    let options = JobOptions(configPath: args.positionals[0], overrides: args.all("--set"), out: args.string("--out") ?? "-",
                             resume: args.has("--resume"), maxPoints: sweep ? try args.int("--max-points", default: 100_000) : 1,
                             shard: try args.string("--shard").map { text throws(AttnError) in try Shard(parsing: text) },
                             quiet: args.has("--quiet"))
    try options.checkOutput()
    return options
}

/// `run --dram-trace FILE [--dram-trace-streams q,k,v,out,index,spill]`: the banked model's request
/// addresses in DRAMsim3's trace format.
func dramTraceFlags(_ args: ParsedArguments) throws -> (path: String, streams: Set<DRAMTraceRecorder.Stream>)? {
    guard let path = args.string("--dram-trace") else {
        if args.string("--dram-trace-streams") != nil { throw AttnError.usage(flag: "--dram-trace-streams", message: "needs --dram-trace FILE") }
        return nil
    }
    var streams = Set(DRAMTraceRecorder.Stream.allCases)
    if let text = args.string("--dram-trace-streams") {
        streams = []
        for name in text.split(separator: ",") {
            guard let s = DRAMTraceRecorder.Stream(rawValue: String(name)) else {
                throw AttnError.usage(flag: "--dram-trace-streams", message: "expected a comma-separated list of q, k, v, out, index, spill, got '\(text)'")
            }
            streams.insert(s)
        }
    }
    return (path, streams)
}

/// `--print-config`: each point's config_id and canonical config.
func printConfigs(_ points: [(index: Int, id: String, node: ConfigNode)]) {
    for p in points {
        print("# point \(p.index) config_id \(p.id)")
        print(p.node.canonicalText)
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
            let rows = try args.int("--rows", default: 32, range: 1...1 << 20)
            let cols = try args.int("--cols", default: 32, range: 1...1 << 20)
            let dataflow = try args.choice("--dataflow", default: SystolicArray.Dataflow.os)
            let schedule = try args.choice("--schedule", default: SystolicArray.FoldSchedule.scalesim)
            let aBits = try args.int("--a-bits", default: 8, range: 1...64), bBits = try args.int("--b-bits", default: 8, range: 1...64)
            let oBits = try args.int("--out-bits", default: 32, range: 1...64)
            // Sizes up to 2^40 are accepted, so counts are checked: an overflow names the flags and the limit.
            let rep: GemmReport
            do throws(CountOverflow) {
                rep = try SystolicArray.gemmReport(m: m, k: k, n: n, rows: rows, cols: cols, dataflow: dataflow,
                                                   mode: schedule, aBits: aBits, bBits: bBits, outBits: oBits)
            } catch {
                throw AttnError.usage(flag: "--m/--k/--n/--rows/--cols", message: "M=\(m) K=\(k) N=\(n) on \(rows)×\(cols) (\(dataflow.rawValue)): \(error.quantity) does not fit in 64 bits; the largest count accepted is \(Int.max) (2^63 − 1): use smaller sizes")
            }
            let c = rep.cost
            let fields: [(String, String)] = [
                ("m", "\(m)"), ("k", "\(k)"), ("n", "\(n)"), ("rows", "\(rows)"), ("cols", "\(cols)"),
                ("dataflow", dataflow.rawValue), ("schedule", schedule.rawValue),
                ("cycles", "\(c.cycles)"), ("scalesim_printed_cycles", "\(c.cycles - 1)"),
                ("folds", "\(c.folds)"), ("row_folds", "\(c.rowFolds)"), ("col_folds", "\(c.colFolds)"),
                ("cycles_per_fold", "\(c.cyclesPerFold)"), ("macs", "\(c.macs)"),
                ("utilization", CSV.number(c.utilization)), ("mapping_efficiency", CSV.number(c.mappingEfficiency)),
                ("sram_a_reads", "\(c.aReads)"), ("sram_b_reads", "\(c.bReads)"), ("sram_out_writes", "\(c.outWrites)"),
                ("sram_a_read_bytes", "\(rep.aReadBytes)"), ("sram_b_read_bytes", "\(rep.bReadBytes)"),
                ("sram_out_write_bytes", "\(rep.outWriteBytes)"),
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
        positionals: [],
        options: [.value("--format", "FORMAT", "text (name TAB meaning), markdown (the tables in docs/report-columns.md) or csv", default: "text")],
        discussion: "",
        run: { args in
            print(ColumnList.render(ColumnList.reportGroups,
                                    format: try args.choice("--format", default: ColumnList.Format.text)), terminator: "")
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
            whereOption,
            .value("--title", "TEXT", "plot title"),
            .value("--x-scale", "auto|linear|log", "x axis scale; auto is log when all x > 0 and max/min ≥ 100", default: "auto"),
            .value("--y-scale", "auto|linear|log", "y axis scale, as --x-scale", default: "auto"),
            .flag("--log-x", "same as --x-scale log"), .flag("--log-y", "same as --y-scale log"),
        ],
        discussion: """
        Rows whose x or y is not a number are skipped (and counted on stderr), and so are values ≤ 0 on a
        log axis. config_id, and a column with no number in it, is a categorical axis: one slot per
        distinct value in first-seen order, labelled with the values, always linear; a plot with a
        categorical axis draws no Pareto front. The SVG has axis titles with units, a legend (colour groups and the Pareto front's key),
        tick labels thinned so they do not overlap, and large or small linear values shown with a ×10ⁿ
        factor in the axis title. There is no PNG output: convert the SVG with a browser, e.g.
        chromium --headless --screenshot=plot.png --window-size=720,480 plot.svg (docs/report-columns.md).
        """,
        run: { args in
            let out = try args.required("--out")
            try OutputGuard.check(output: out, flag: "--out", inputs: args.positionals)
            let table = try CSVTable(path: args.positionals[0])
            let xi = try table.columnIndex(try args.required("--x")), yi = try table.columnIndex(try args.required("--y"))
            let ci = try args.string("--color").map { c throws(AttnError) in try table.columnIndex(c) }
            let rows = try RowSelection.filter(table, try rowFilters(args)).map { table.rows[$0] }
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
            plot.xScale = try scaleFlag(args, "--x-scale", log: "--log-x", categorical: xCategories != nil, column: table.columns[xi])
            plot.yScale = try scaleFlag(args, "--y-scale", log: "--log-y", categorical: yCategories != nil, column: table.columns[yi])
            let omitted = plot.points.count - plot.drawnPoints.count
            if omitted > 0 { FileHandle.standardError.write(Data("attnsim: plot: left out \(omitted) points with values ≤ 0 on a log axis\n".utf8)) }
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
            try OutputGuard.check(output: out, flag: "--out", inputs: ConfigLoader.chainFiles(path: args.positionals[0]) + c.inputFiles)
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
    let options = try jobOptions(args, sweep: true)   // eval has no --shard
    let note: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    let job = EvalJob(options: options, log: options.quiet ? nil : note)
    let points = try job.points()
    if args.has("--print-config") { return printConfigs(points.map { ($0.index, $0.configID, $0.config.node) }) }
    let cancel = CancellationFlag()
    let signals = installInterruptHandlers(cancel)
    defer { _ = signals }
    try job.run(points, cancel: cancel)
}

func tableCommand() -> CommandSpec {
    CommandSpec(
        name: "table",
        summary: "Chosen columns of a report CSV as a Markdown table (how docs/results.md is made).",
        positionals: ["CSV"],
        options: [
            .value("--columns", "A,B,...", "columns to show, in order"),
            whereOption,
            .repeated("--sort", "COL[:desc]", "order rows by COL, ascending unless :desc; several keys by repeating or A,B:desc"),
            .value("--pareto", "X[:max],Y[:max]", "keep only the rows on the Pareto front of two numeric columns (min unless :max)"),
            .value("--digits", "N", "significant digits of non-integer numbers", default: "4"),
            .value("--out", "FILE", "Markdown output, '-' for stdout", default: "-"),
        ],
        discussion: """
        Integers are printed whole; other numbers are rounded to --digits significant digits.
        --where conditions apply in order, then --pareto, then --sort (file order without it; ties keep
        file order). A sort column whose values are all numbers sorts numerically, otherwise as text.
        Examples: --where 'energy_pj<1e6' --where attention.pruning.k=16..64 --sort energy_pj:desc
        """,
        run: { args in
            let out = args.string("--out") ?? "-"
            try OutputGuard.check(output: out, flag: "--out", inputs: args.positionals)
            let table = try CSVTable(path: args.positionals[0])
            let columns = try args.required("--columns").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !columns.isEmpty, !columns.contains("") else {
                throw AttnError.usage(flag: "--columns", message: "expected a comma-separated list of column names")
            }
            var keys: [SortKey] = []
            for s in args.all("--sort") { keys += try SortKey.parse(s) }
            var rows = try RowSelection.filter(table, try rowFilters(args))
            if let text = args.string("--pareto") {
                let axes = text.split(separator: ",", omittingEmptySubsequences: false).map {
                    $0.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                }
                let goals = axes.map { $0.count == 2 ? ScatterPlot.Goal(rawValue: $0[1]) : $0.count == 1 ? .minimize : nil }
                guard axes.count == 2, axes.allSatisfy({ !$0[0].isEmpty }), let xGoal = goals[0], let yGoal = goals[1] else {
                    throw AttnError.usage(flag: "--pareto", message: "expected X[:min|:max],Y[:min|:max], got '\(text)'")
                }
                rows = try RowSelection.paretoFront(table, rows: rows, x: axes[0][0], xGoal: xGoal, y: axes[1][0], yGoal: yGoal)
            }
            rows = try RowSelection.sort(table, rows: rows, by: keys)
            let text = try MarkdownTable.render(table, columns: columns, rows: rows,
                                                digits: try args.int("--digits", default: 4, range: 1...17))
            if out == "-" { print(text, terminator: "") } else { try AtomicFile.write(text, to: out) }
        })
}

/// `--x-scale`/`--y-scale`, with `--log-x`/`--log-y` as the older spelling of `log`. A categorical
/// axis (config_id, text) is always linear: asking for log there is an error.
func scaleFlag(_ args: ParsedArguments, _ name: String, log: String, categorical: Bool, column: String) throws -> ScatterPlot.Scale {
    var scale = try args.choice(name, default: ScatterPlot.Scale.auto)
    if args.has(log) {
        if args.string(name) != nil && scale != .log { throw AttnError.usage(flag: log, message: "contradicts \(name) \(scale.rawValue)") }
        scale = .log
    }
    if categorical && scale == .log {
        throw AttnError.usage(flag: args.has(log) ? log : name, message: "column '\(column)' is categorical (config_id or not numbers); it has no log scale")
    }
    return scale
}

/// The `--where` option of `plot` and `table` (`RowFilter`).
let whereOption = OptionSpec.repeated("--where", "COND", "keep rows where COL=VALUE, COL!=VALUE, COL=LO..HI, COL<X, COL<=X, COL>X or COL>=X (repeatable)")

/// The `--where` flags of `plot` and `table`.
func rowFilters(_ args: ParsedArguments) throws -> [RowFilter] {
    try args.all("--where").map { w throws(AttnError) in try RowFilter(parsing: w) }
}
