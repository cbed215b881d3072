import Accelerator
import AttnCore
import Foundation

/// What `run`, `sweep` and `eval` share, given by the command line: the config and its overrides,
/// where the CSV goes, and which of its points to run.
public struct JobOptions: Sendable {
    public var configPath: String
    public var overrides: [String]
    /// The CSV file, or "-" for stdout.
    public var out: String
    /// Keep the finished points already in `out` and run only the others.
    public var resume: Bool
    /// Refuse configs that expand to more points.
    public var maxPoints: Int
    /// Run only this shard's points (index mod count).
    public var shard: Shard?
    /// No progress line and no notes on stderr.
    public var quiet: Bool

    public init(configPath: String, overrides: [String] = [], out: String = "-", resume: Bool = false,
                maxPoints: Int = 100_000, shard: Shard? = nil, quiet: Bool = false) {
        self.configPath = configPath
        self.overrides = overrides
        self.out = out
        self.resume = resume
        self.maxPoints = maxPoints
        self.shard = shard
        self.quiet = quiet
    }

    /// `out` writable and `resume` meaningful, checked before any work; `flag` names the option in
    /// errors.
    public func checkOutput(flag: String = "--out", resumeFlag: String = "--resume") throws(AttnError) {
        try AtomicFile.checkWritable(out, flag: flag)
        if resume && out == "-" { throw AttnError.usage(flag: resumeFlag, message: "needs --out FILE (the CSV to continue)") }
    }
}

/// One shard of a sweep: the points whose index mod `count` is `index`.
public struct Shard: Sendable, Equatable {
    public var index: Int, count: Int

    /// `I/N` with 0 ≤ I < N; `flag` names the option in the error.
    public init(parsing text: String, flag: String = "--shard") throws(AttnError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
            throw AttnError.usage(flag: flag, message: "expected I/N with 0 ≤ I < N, got '\(text)'")
        }
        (index, count) = (i, n)
    }

    public func includes(point: Int) -> Bool { point % count == index }
}

/// The frame every job runs in: refuse an output that is an input or another output, read what `--resume` keeps,
/// drop other shards' points, run the rest, and write the CSV atomically as points finish — after
/// an interrupt (`cancel`), the finished points and a one-line error saying how to continue.
enum JobFrame {
    /// `outputs`: files the job writes besides `--out` (path, flag), checked after it: OutputGuard
    /// refuses one that is an input or another output.
    static func run(options: JobOptions, inputs: [String], outputs: [(path: String, flag: String)] = [], header: [String],
                    expected: [(index: Int, expected: SweepOutput.Expected)], detail: String? = nil, cancel: CancellationFlag,
                    body: (_ todo: [Int], _ output: SweepOutput, _ progress: ProgressLine) throws -> Void) throws {
        try OutputGuard.check(output: options.out, flag: "--out", inputs: inputs)
        for o in outputs { try OutputGuard.check(output: o.path, flag: o.flag, inputs: inputs) }
        let existing = options.resume
            ? try SweepOutput.resume(path: options.out, header: header, points: expected.map(\.expected), detail: detail) : [:]
        let todo = expected.indices.filter { i in
            let index = expected[i].index
            return (options.shard?.includes(point: index) ?? true) && existing[index] == nil
        }
        let output = SweepOutput(path: options.out, header: header, existing: existing)
        let progress = ProgressLine(total: todo.count, quiet: options.quiet)
        try body(todo, output, progress)
        progress.finish()
        try output.flush()
        if cancel.isSet {
            let out = output.path
            throw AttnError.runtime("interrupted: \(output.finishedPoints) of \(expected.count) points are in \(out == "-" ? "the output" : out)"
                                    + (out == "-" ? "" : "; rerun with --resume to finish"))
        }
    }

    /// The swept key paths of all points, in first-seen order: the report's trailing columns.
    static func sweptPaths(_ swept: [[SweptValue]]) -> [String] {
        var paths: [String] = []
        for values in swept { for s in values where !paths.contains(s.path) { paths.append(s.path) } }
        return paths
    }
}

/// `attnsim run` / `sweep`: trace replays through the functional and timing models, one report row
/// per trace, phase (and layer/head with `detail`) and point.
public struct SweepJob {
    public var options: JobOptions
    /// `sweep` (a config may expand to many points) or `run` (exactly one).
    public var sweep: Bool
    public var detail: ReportDetail
    /// Where `--dram-trace` writes the banked model's requests, and which streams.
    public var dramTrace: (path: String, streams: Set<DRAMTraceRecorder.Stream>)?

    public init(options: JobOptions, sweep: Bool, detail: ReportDetail = .summary,
                dramTrace: (path: String, streams: Set<DRAMTraceRecorder.Stream>)? = nil) {
        self.options = options
        self.sweep = sweep
        self.detail = detail
        self.dramTrace = dramTrace
    }

    /// The config's points (a `run` config must not sweep).
    public func points() throws -> [ExperimentPoint] {
        try ExperimentLoader.load(path: options.configPath, overrides: options.overrides,
                                  maxPoints: sweep ? options.maxPoints : 1, allowSweep: sweep)
    }

    public func run(_ all: [ExperimentPoint], cancel: CancellationFlag) throws {
        var inputs = ConfigLoader.chainFiles(path: options.configPath)
        for p in all { inputs += p.config.inputFiles }
        if dramTrace != nil, !all.allSatisfy({ $0.config.hardware.dram.model == .banked }) {
            throw AttnError.usage(flag: "--dram-trace", message: "needs the banked DRAM model: set hardware.dram.model: banked (e.g. --set hardware.dram.model=banked)")
        }
        let paths = JobFrame.sweptPaths(all.map(\.swept))
        let onChip = ReportRow.reportsOnChip(all)
        let banked = all.contains { $0.config.hardware.dram.model == .banked }
        let header = ReportRow.header(sweptPaths: paths, onChip: onChip, dram: banked)
        let expected = all.map { p in
            (p.index, SweepOutput.Expected(configID: p.configID, traces: p.config.traces.map { ($0 as NSString).lastPathComponent },
                                           phases: p.config.phases.map(\.rawValue), swept: p.swept))
        }
        let recorder = dramTrace.map { DRAMTraceRecorder(streams: $0.streams) }
        try JobFrame.run(options: options, inputs: inputs, outputs: dramTrace.map { [($0.path, "--dram-trace")] } ?? [],
                         header: header, expected: expected, detail: detail.rawValue, cancel: cancel) { todo, output, progress in
            let points = todo.map { all[$0] }
            _ = try Runner(detail: detail, dramTrace: recorder).run(points, progress: progress, cancel: cancel) { i, rows in
                output.add(point: points[i].index, rows: rows.map { $0.fields(sweptPaths: paths, onChip: onChip, dram: banked) })
            }
        }
        if let dramTrace, let recorder { try AtomicFile.write(recorder.contents, to: dramTrace.path) }
    }
}

/// `attnsim eval`: real models with the accelerator's arithmetic in every attention call, one row
/// per point (and mode); points that differ only in hardware share one model run.
public struct EvalJob {
    public var options: JobOptions
    /// Notes on stderr (nil with `quiet`).
    public var log: (@Sendable (String) -> Void)?

    public init(options: JobOptions, log: (@Sendable (String) -> Void)? = nil) {
        self.options = options
        self.log = log
    }

    public func points() throws -> [EvalPoint] {
        try EvalLoader.load(path: options.configPath, overrides: options.overrides, maxPoints: options.maxPoints)
    }

    /// Before any work: every model and text exists (a missing one names the point and where assets
    /// come from), and a sentiment head still to be trained can be written (its folder is created), so
    /// minutes of training never end in an unwritable file.
    public static func preflight(_ points: [EvalPoint]) throws {
        for p in points {
            var files: [String] = [p.config.model]
            files += p.config.languageModel.texts
            files += p.config.languageModel.calibrationTexts
            if p.config.task == .sentiment { files.append(p.config.sentiment.data) }
            for file in files where !FileManager.default.fileExists(atPath: file) {
                throw AttnError.input(file: file, item: nil, message: "no such file (point \(p.index); the models and texts come from Scripts/fetch-assets)")
            }
            let head = p.config.sentiment.head
            if p.config.task == .sentiment && !FileManager.default.fileExists(atPath: head) {
                let dir = (head as NSString).deletingLastPathComponent
                if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
                try AtomicFile.checkWritable(head, flag: "eval.head")
            }
        }
    }

    public func run(_ points: [EvalPoint], cancel: CancellationFlag) throws {
        try Self.preflight(points)
        var inputs = ConfigLoader.chainFiles(path: options.configPath)
        for p in points {
            inputs += [p.config.model, p.config.sentiment.data, p.config.sentiment.head]
            inputs += p.config.languageModel.texts + p.config.languageModel.calibrationTexts
        }
        let paths = JobFrame.sweptPaths(points.map(\.swept))
        let expected = points.map { p in (p.index, SweepOutput.Expected(configID: p.configID, swept: p.swept)) }
        try JobFrame.run(options: options, inputs: inputs, header: EvalRunner.header(sweptPaths: paths), expected: expected,
                         cancel: cancel) { todo, output, progress in
            let runner = EvalRunner(log: log)
            runner.prepare(todo.map { points[$0] })
            // Points that differ only in hardware share one model run; its activities are dropped after the last of them.
            var remaining: [String: Int] = [:]
            for i in todo { remaining[points[i].config.arithmeticKey, default: 0] += 1 }
            for i in todo {
                if cancel.isSet { break }
                let p = points[i]
                output.add(point: p.index, rows: try runner.rows(for: p, sweptPaths: paths))
                remaining[p.config.arithmeticKey]! -= 1
                if remaining[p.config.arithmeticKey] == 0 { runner.release(p.config) }
                progress.advance()
            }
        }
    }
}
