import Accelerator
import AttnCore
import Dispatch
import Foundation

/// What the functional model computed for one trace under one arithmetic: the activity the timing
/// model replays and the accuracy figures, per phase (and per layer for `--detail`).
public struct FunctionalOutcome: Sendable {
    public var activities: [HeadActivity.Phase: [HeadActivity]] = [:]
    public var fidelity: [HeadActivity.Phase: Fidelity] = [:]
    /// Per phase, per layer.
    public var layerFidelity: [HeadActivity.Phase: [Int: Fidelity]] = [:]
    public var evaluated: [Int] = []
    public var calibration: [Int] = []
}

/// How detailed the report is: one row per trace and phase, or also per layer / per (layer, KV head).
public enum ReportDetail: String, Sendable, CaseIterable {
    case summary, layer, head
}

/// Runs points over traces: functional results once per (trace, arithmetic), timing per point.
public final class Runner: @unchecked Sendable {
    public let detail: ReportDetail
    /// Receives the banked DRAM model's requests (`run --dram-trace`).
    public let dramTrace: DRAMTraceRecorder?
    private var readers: [String: TraceReader] = [:]
    private var outcomes: [String: FunctionalOutcome] = [:]
    /// Thresholds calibrated on a `calibration.trace`, per (that trace, attention, sequences): shared
    /// by every replayed trace and sequence prefix.
    private var calibrations: [String: TopThetaThresholds] = [:]
    private let lock = NSLock()

    /// Most arithmetics that share one float reference per head (each holds one layer's results
    /// while the layer runs).
    static let sharedReferenceGroup = 4

    public init(detail: ReportDetail = .summary, dramTrace: DRAMTraceRecorder? = nil) {
        self.detail = detail
        self.dramTrace = dramTrace
    }

    /// Opens (and fully validates) every trace the points use, before any work starts.
    public func openTraces(_ points: [ExperimentPoint]) throws(AttnError) {
        for p in points {
            for t in p.config.traces + (p.config.calibrationTrace.map { [$0] } ?? []) where readers[t] == nil {
                readers[t] = try TraceReader(path: t, options: TraceReadOptions(allowNonFinite: p.config.allowNonFinite))
            }
        }
        // Check sequence selections and buffer sizes against each trace now, before any work.
        for p in points {
            for t in p.config.traces {
                let r = readers[t]!
                _ = try sequences(p.config, r)
                try checkBuffers(p.config, r)
            }
        }
    }

    func sequences(_ c: ExperimentConfig, _ r: TraceReader) throws(AttnError) -> (calibration: [Int], evaluation: [Int]) {
        let n = r.metadata.sequences
        let needsCalibration: Bool
        if case .topTheta = c.attention.pruning { needsCalibration = true } else { needsCalibration = false }
        // With calibration.trace the calibration sequences are that trace's; this one is all evaluated.
        let calReader = c.calibrationTrace.flatMap { readers[$0] } ?? r
        let cal = c.calibrationSequences.filter { $0 < calReader.metadata.sequences }
        if needsCalibration && cal.isEmpty {
            throw AttnError.input(file: calReader.path, item: nil, message: "Top-θ needs calibration sequences, but calibration.sequences \(c.calibrationSequences) names none of its \(calReader.metadata.sequences) sequences")
        }
        if needsCalibration, calReader !== r {
            let a = calReader.metadata, b = r.metadata
            guard a.layers == b.layers, a.heads == b.heads else {
                throw AttnError.input(file: calReader.path, item: nil, message: "calibration.trace has \(a.layers) layers × \(a.heads) heads, the replayed trace \(r.path) \(b.layers) × \(b.heads): thresholds are per (layer, head)")
            }
        }
        let excluded = calReader === r ? cal : []
        let eval: [Int]
        if let e = c.evaluationSequences {
            if let bad = e.first(where: { $0 >= n }) {
                throw AttnError.input(file: r.path, item: nil, message: "evaluation.sequences names sequence \(bad), the trace has \(n)")
            }
            eval = e
        } else {
            eval = (0..<n).filter { !excluded.contains($0) }
        }
        if eval.isEmpty {
            throw AttnError.input(file: r.path, item: nil, message: "no sequence left to evaluate: the trace has \(n) and calibration.sequences takes \(cal) (set calibration.sequences: [] when not using Top-θ)")
        }
        if let p = c.evaluationPositions {
            guard r.metadata.causal else {
                throw AttnError.input(file: r.path, item: nil, message: "evaluation.positions = \(p) needs a causal trace: in a bidirectional one every row depends on every token, so a prefix is not a shorter sequence's recording")
            }
            if let s = eval.first(where: { r.lengths[$0] < p }) {
                throw AttnError.input(file: r.path, item: nil, message: "evaluation.positions = \(p) exceeds sequence \(s)'s \(r.lengths[s]) positions")
            }
        }
        if let d = c.evaluationDecodeSteps {
            guard r.metadata.causal else {
                throw AttnError.input(file: r.path, item: nil, message: "evaluation.decode_steps = \(d) needs a causal trace: in a bidirectional one no row is a decode step (every row sees every token)")
            }
            if let s = eval.first(where: { min(c.evaluationPositions ?? Int.max, r.lengths[$0]) < d }) {
                throw AttnError.input(file: r.path, item: nil, message: "evaluation.decode_steps = \(d) exceeds sequence \(s)'s \(r.lengths[s]) positions (the decode steps are its last D replayed rows)")
            }
        }
        return (needsCalibration ? cal : [], eval)
    }

    /// Positions replayed of the evaluated sequences (`evaluation.positions`, else the longest).
    func replayedLength(_ c: ExperimentConfig, _ r: TraceReader) -> Int {
        min(c.evaluationPositions ?? Int.max, r.lengths.max() ?? 0)
    }

    /// Physically impossible buffers: each must hold at least one row of what it stores.
    func checkBuffers(_ c: ExperimentConfig, _ r: TraceReader) throws(AttnError) {
        let m = r.metadata, w = c.attention.timingWorkload, mem = c.hardware.memory
        let group = m.heads / m.kvHeads
        var needs: [(String, Double, Int, String)] = [
            ("hardware.memory.q_buffer_kib", mem.qBufferKiB, group * m.headDim * ((w.qBits + 7) / 8), "one query row of the GQA group"),
            ("hardware.memory.out_buffer_kib", mem.outBufferKiB, group * m.headDim * ((w.outBits + 7) / 8), "one output row of the GQA group"),
        ]
        // Full rows need one whole row of scores on chip; key tiles need one score.
        let scoreNeed: (String, Double, Int, String) = c.hardware.dataflow == .tiled
            ? ("hardware.memory.score_buffer_kib", mem.scoreBufferKiB, (w.scoreBits + 7) / 8, "one score")
            : ("hardware.memory.score_buffer_kib", mem.scoreBufferKiB, replayedLength(c, r) * ((w.scoreBits + 7) / 8), "one row of scores of the longest sequence")
        needs.append(scoreNeed)
        for (key, kib, bytes, what) in needs where kib * 1024 < Double(bytes) {
            throw AttnError.input(file: r.path, item: nil,
                                  message: "\(key) = \(kib) KiB cannot hold \(what) (\(bytes) bytes); this trace needs at least \(CSV.number((Double(bytes) / 1024 * 1000).rounded(.up) / 1000)) KiB")
        }
    }

    /// One (sequence, layer) of a trace as config `c` replays it (nil: all of it, as recorded):
    /// cut to its first `evaluation.positions` rows, its last `evaluation.decode_steps` rows made
    /// the decode steps, and with `decodeRowsOnly` holding the decode rows' queries only (Q quantized
    /// over every row, as a replay of all rows quantizes it). The caller checked that the trace is
    /// causal and the sequence long enough.
    func layerInput(_ r: TraceReader, sequence s: Int, layer l: Int, replay c: ExperimentConfig? = nil) throws(AttnError) -> LayerInput {
        let m = r.metadata
        var data = try r.layer(sequence: s, layer: l)
        var t = data.tokens
        if let n = c?.evaluationPositions, n < t {
            data.q = data.q.headRows(0..<n, heads: m.heads, tokens: t, dim: m.headDim)
            data.k = data.k.headRows(0..<n, heads: m.kvHeads, tokens: t, dim: m.headDim)
            data.v = data.v.headRows(0..<n, heads: m.kvHeads, tokens: t, dim: m.headDim)
            t = n
        }
        let prompt = c?.evaluationDecodeSteps.map { t - $0 } ?? min(m.promptTokens[s], t)
        if c?.decodeRowsOnly == true, prompt < t {
            return LayerInput(sequence: s, layer: l, heads: m.heads, kvHeads: m.kvHeads, tokens: t, headDim: m.headDim, causal: m.causal,
                              scale: Double(m.scale), promptTokens: prompt, queryRows: prompt..<t, q: data.q.headRows(prompt..<t, heads: m.heads, tokens: t, dim: m.headDim),
                              qAllRows: data.q, k: data.k, v: data.v)
        }
        return LayerInput(sequence: s, layer: l, heads: m.heads, kvHeads: m.kvHeads, tokens: t, headDim: m.headDim,
                          causal: m.causal, scale: Double(m.scale), promptTokens: prompt, q: data.q, k: data.k, v: data.v)
    }

    /// Top-θ thresholds calibrated on the configured calibration sequences of a trace (or loaded
    /// from `calibration.thresholds`).
    public func calibrate(_ c: ExperimentConfig, trace: String) throws(AttnError) -> TopThetaThresholds {
        let r = readers[trace]!
        if let file = c.thresholdsFile {
            return try ThresholdsFile.load(file, for: r)
        }
        let (cal, _) = try sequences(c, r)
        // calibration.trace: one calibration serves every replayed trace (and prefix) of the run.
        let cr = c.calibrationTrace.flatMap { readers[$0] } ?? r
        let cacheKey = c.calibrationTrace.map { t in
            ConfigNode.mapping([("trace", .string(t)), ("attention", c.attention.configNode),
                                ("sequences", .sequence(cal.map { .int($0) }))]).configID
        }
        if let key = cacheKey {
            lock.lock()
            defer { lock.unlock() }
            if let t = calibrations[key] { return t }
        }
        let m = cr.metadata
        var calibrator = TopThetaCalibrator(config: c.attention, layers: m.layers, heads: m.heads, maxLength: cr.lengths.max()!)
        for s in cal {
            for l in 0..<m.layers { calibrator.add(try layerInput(cr, sequence: s, layer: l)) }
        }
        let thresholds = calibrator.thresholds()
        if let key = cacheKey {
            lock.lock()
            calibrations[key] = thresholds
            lock.unlock()
        }
        return thresholds
    }

    /// The functional outcome for (trace, arithmetic of `c`), computed once and cached.
    public func functional(_ c: ExperimentConfig, trace: String) throws(AttnError) -> FunctionalOutcome {
        let key = trace + "\u{0}" + c.arithmeticKey
        lock.lock()
        if let o = outcomes[key] { lock.unlock(); return o }
        lock.unlock()
        let o = try computeFunctional([c], trace: trace, keepActivities: true)[0]
        lock.lock()
        outcomes[key] = o
        lock.unlock()
        return o
    }

    /// Runs the functional model of each of `configs` (arithmetics that evaluate the same sequences
    /// of `trace`) over those sequences, one (sequence, layer) at a time, all configurations on each
    /// layer together so that the exact float reference of each head is computed once for all
    /// (`FunctionalAttention.run(_:_:)`); `onLayer(m, activities)` sees configuration m's
    /// activities of each layer as soon as they exist. With `keepActivities` false the outcomes
    /// hold the accuracy figures only, so memory stays at one layer's working set however long the
    /// trace (the activities' kept bits grow as tokens²).
    func computeFunctional(_ configs: [ExperimentConfig], trace: String, keepActivities: Bool,
                           onLayer: ((Int, [HeadActivity]) -> Void)? = nil) throws(AttnError) -> [FunctionalOutcome] {
        let r = readers[trace]!
        var fas: [FunctionalAttention] = []
        var outcomes: [FunctionalOutcome] = []
        for c in configs {
            let (cal, eval) = try sequences(c, r)
            precondition(eval == outcomes.first?.evaluated ?? eval && c.replayedRows == configs[0].replayedRows,
                         "configurations run together must evaluate the same sequences and rows")
            var thresholds: TopThetaThresholds?
            if case .topTheta(let t) = c.attention.pruning { thresholds = try calibrate(c, trace: trace).bucketed(t) }
            fas.append(FunctionalAttention(config: c.attention, thresholds: thresholds))
            var o = FunctionalOutcome()
            o.evaluated = eval
            o.calibration = cal
            outcomes.append(o)
        }
        for s in outcomes.first?.evaluated ?? [] {
            for l in 0..<r.metadata.layers {
                let results = FunctionalAttention.run(fas, try layerInput(r, sequence: s, layer: l, replay: configs[0]))
                for (m, result) in results.enumerated() {
                    onLayer?(m, result.activities)
                    for a in result.activities {
                        if keepActivities { outcomes[m].activities[a.phase, default: []].append(a) } else if outcomes[m].activities[a.phase] == nil { outcomes[m].activities[a.phase] = [] }
                    }
                    for (phase, f) in [(HeadActivity.Phase.prefill, result.prefill), (.decode, result.decode)] where f.rows > 0 {
                        outcomes[m].fidelity[phase, default: Fidelity()] += f
                        outcomes[m].layerFidelity[phase, default: [:]][l, default: Fidelity()] += f
                    }
                }
            }
        }
        return outcomes
    }

    /// Report rows of one point, over its traces and phases.
    public func rows(for p: ExperimentPoint) throws(AttnError) -> [ReportRow] {
        let pipeline = AttentionPipeline(hardware: p.config.hardware, workload: p.config.attention.timingWorkload, dramTrace: dramTrace)
        var perTrace: [(FunctionalOutcome, [HeadActivity.Phase: CostStream])] = []
        for trace in p.config.traces {
            let outcome = try functional(p.config, trace: trace)
            var streams: [HeadActivity.Phase: CostStream] = [:]
            for phase in p.config.phases {
                guard let acts = outcome.activities[phase] else { continue }
                var cs = CostStream(pipeline: pipeline, detail: detail)
                for a in acts { cs.add(a) }
                streams[phase] = cs
            }
            perTrace.append((outcome, streams))
        }
        return reportRows(p, perTrace)
    }

    /// Report rows of one point from its functional outcome and cost streams per trace (in
    /// `p.config.traces` order).
    func reportRows(_ p: ExperimentPoint, _ perTrace: [(FunctionalOutcome, [HeadActivity.Phase: CostStream])]) -> [ReportRow] {
        var rows: [ReportRow] = []
        let area = AreaModel(hardware: p.config.hardware, multiplierBits: max(p.config.attention.qBits, 8)).totalMM2
        for (trace, (outcome, streams)) in zip(p.config.traces, perTrace) {
            for phase in p.config.phases {
                guard outcome.activities[phase] != nil, let fid = outcome.fidelity[phase], var cs = streams[phase] else { continue }
                cs.finish()
                var base = ReportRow.Context(point: p, trace: (trace as NSString).lastPathComponent, phase: phase,
                                             evaluated: outcome.evaluated, calibration: outcome.calibration,
                                             clockGHz: p.config.hardware.clockGHz, areaMM2: area)
                if case .topTheta(let t) = p.config.attention.pruning, let r = readers[trace] {
                    let w = p.config.attention.timingWorkload
                    base.thresholdTableBytes = t.tableBytes(layers: r.metadata.layers, heads: r.metadata.heads, maxLength: replayedLength(p.config, r),
                                                            entryBytes: ((t.placement == .scores ? w.scoreBits : w.probBits) + 7) / 8)
                }
                rows.append(ReportRow(base, layer: nil, kvHead: nil, cost: cs.total, fidelity: fid))
                if detail == .layer || detail == .head {
                    for l in cs.byLayer.keys.sorted() {
                        rows.append(ReportRow(base, layer: l, kvHead: nil, cost: cs.byLayer[l]!,
                                              fidelity: outcome.layerFidelity[phase]?[l] ?? Fidelity()))
                    }
                }
                if detail == .head {
                    for (l, h, c) in cs.byHead.values.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
                        // Fidelity is per layer (heads of a layer are aggregated in the functional pass).
                        rows.append(ReportRow(base, layer: l, kvHead: h, cost: c, fidelity: outcome.layerFidelity[phase]?[l] ?? Fidelity()))
                    }
                }
            }
        }
        return rows
    }

    /// Every point's rows, in point order. The functional model runs once per distinct (trace,
    /// arithmetic), layer by layer; each layer's activities are costed at once by every point that
    /// shares that arithmetic (points in parallel) and then dropped, so memory holds one layer's
    /// activities, not the trace's. Rows are then assembled per point in parallel; `onPoint`
    /// receives each point's rows as soon as they are ready (from any thread). When `cancel` is set,
    /// the remaining functional runs and points are skipped (their slots stay nil).
    public func run(_ points: [ExperimentPoint], progress: ProgressLine? = nil, cancel: CancellationFlag? = nil,
                    onPoint: (@Sendable (Int, [ReportRow]) -> Void)? = nil) throws(AttnError) -> [[ReportRow]?] {
        try openTraces(points)
        // (trace, arithmetic) groups in first-use order, with the (point, trace slot) that use each.
        var groupOrder: [String] = []
        var members: [String: [(point: Int, slot: Int)]] = [:]
        for (i, p) in points.enumerated() {
            for (slot, t) in p.config.traces.enumerated() {
                let key = t + "\u{0}" + p.config.arithmeticKey
                if members[key] == nil { groupOrder.append(key) }
                members[key, default: []].append((i, slot))
            }
        }
        let pipelines = points.map { AttentionPipeline(hardware: $0.config.hardware, workload: $0.config.attention.timingWorkload, dramTrace: dramTrace) }
        var perTrace = points.map { [(FunctionalOutcome, [HeadActivity.Phase: CostStream])?](repeating: nil, count: $0.config.traces.count) }
        // Arithmetics of one trace that evaluate the same sequences run together, up to
        // `sharedReferenceGroup` at a time: each head's float reference is computed once for them.
        var bundles: [[String]] = [], bundleOf: [String: Int] = [:]
        for key in groupOrder {
            let u = members[key]![0], c = points[u.point].config, trace = c.traces[u.slot]
            let bundleKey = trace + "\u{0}" + (try sequences(c, readers[trace]!)).evaluation.map(String.init).joined(separator: ",")
                + "\u{0}" + c.replayedRows
            if let b = bundleOf[bundleKey], bundles[b].count < Self.sharedReferenceGroup {
                bundles[b].append(key)
            } else {
                bundleOf[bundleKey] = bundles.count
                bundles.append([key])
            }
        }
        for bundle in bundles {
            if cancel?.isSet == true { break }
            let boxes = bundle.map { key in
                members[key]!.map { u in
                    StreamBox(Dictionary(uniqueKeysWithValues: points[u.point].config.phases.map { ($0, CostStream(pipeline: pipelines[u.point], detail: detail)) }))
                }
            }
            let firsts = bundle.map { members[$0]![0] }
            let outcomes = try computeFunctional(firsts.map { points[$0.point].config }, trace: points[firsts[0].point].config.traces[firsts[0].slot],
                                                 keepActivities: false) { m, acts in
                DispatchQueue.concurrentPerform(iterations: boxes[m].count) { b in
                    for a in acts { boxes[m][b].streams[a.phase]?.add(a) }
                }
            }
            for (m, key) in bundle.enumerated() {
                for (u, box) in zip(members[key]!, boxes[m]) { perTrace[u.point][u.slot] = (outcomes[m], box.streams) }
            }
        }
        let computed = perTrace
        var results = [[ReportRow]?](repeating: nil, count: points.count)
        results.withUnsafeMutableBufferPointer { buf in
            let out = SharedBuffer(buf)
            DispatchQueue.concurrentPerform(iterations: points.count) { i in
                if cancel?.isSet == true { return }
                let traces = computed[i].compactMap { $0 }
                guard traces.count == computed[i].count else { return }
                let rows = self.reportRows(points[i], traces)
                out[i] = rows
                onPoint?(i, rows)
                progress?.advance()
            }
        }
        return results
    }
}

extension CostStream {
    /// A stream keeping what the report's `--detail` level shows.
    init(pipeline: AttentionPipeline, detail: ReportDetail) {
        self.init(pipeline: pipeline, perLayer: detail != .summary, perHead: detail == .head)
    }
}

/// One point's cost streams for one trace, per phase (a class, so worker threads update it in place).
final class StreamBox: @unchecked Sendable {
    var streams: [HeadActivity.Phase: CostStream]
    init(_ streams: [HeadActivity.Phase: CostStream]) { self.streams = streams }
}

/// A flag set from a signal handler and read by workers.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    public func set() { lock.lock(); value = true; lock.unlock() }
}
