import Accelerator
import AttnCore
import Foundation
import ReferenceModels

/// What one attention call looks like to the functional model: padding keys trimmed (an encoder
/// batch's `validKeys`), query rows at their absolute positions, and the phase of those rows — a call
/// on one row after position 0 is a decode step against the KV cache; any other call is prefill.
struct SeamCall {
    let input: LayerInput
    /// Query rows of the call that are real (the rest are padding and get a zero output).
    let realRows: Int

    init(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>) {
        let d = call.headDim
        let tokens = call.causal ? min(call.keyRows, call.validKeys) : call.validKeys
        let first = call.queryOffset
        let rows = call.causal ? call.queryRows : min(call.queryRows, tokens)
        let decode = call.causal && call.queryRows == 1 && call.queryOffset > 0
        var qs = [Float](repeating: 0, count: call.heads * rows * d)
        for h in 0..<call.heads {
            for r in 0..<rows { for c in 0..<d { qs[(h * rows + r) * d + c] = q[(h * call.queryRows + r) * d + c] } }
        }
        // The first `tokens` rows of each KV head, heads `kvHeadStride` rows apart (a decoder's KV cache
        // in place, or an encoder batch's padded rows): one copy into the functional model's layout.
        func trimmed(_ x: UnsafeBufferPointer<Float>) -> [Float] {
            let stride = call.kvHeadStride
            if tokens == stride { return Array(x[0..<(call.kvHeads * tokens * d)]) }
            var out = [Float](repeating: 0, count: call.kvHeads * tokens * d)
            out.withUnsafeMutableBufferPointer { o in
                for h in 0..<call.kvHeads {
                    o.baseAddress!.advanced(by: h * tokens * d)
                        .update(from: x.baseAddress!.advanced(by: h * stride * d), count: tokens * d)
                }
            }
            return out
        }
        input = LayerInput(sequence: call.sequence, layer: call.layer, heads: call.heads, kvHeads: call.kvHeads, tokens: tokens,
                           headDim: d, causal: call.causal, scale: Double(call.scale),
                           promptTokens: decode ? first : tokens, queryRows: first..<(first + rows),
                           q: qs, k: trimmed(k), v: trimmed(v))
        realRows = rows
    }

    /// Writes the functional model's [heads, rows, d] output into the call's [heads, queryRows, d] buffer.
    func write(_ output: [Float], call: AttentionCall, into out: UnsafeMutableBufferPointer<Float>) {
        Self.write(output, rows: realRows, call: call, into: out)
    }

    /// Writes [heads, rows, d] into the call's [heads, queryRows, d] buffer (the other rows zero).
    static func write(_ output: [Float], rows: Int, call: AttentionCall, into out: UnsafeMutableBufferPointer<Float>) {
        let d = call.headDim
        for i in 0..<out.count { out[i] = 0 }
        for h in 0..<call.heads {
            for r in 0..<rows { for c in 0..<d { out[(h * call.queryRows + r) * d + c] = output[(h * rows + r) * d + c] } }
        }
    }
}

/// The accelerator in the loop: every attention call of a reference model goes through the
/// bit-accurate functional model of one configuration. It keeps the attention-level fidelity per
/// phase and either the head activities (which the timing model costs afterwards, for any hardware)
/// or, given the pipelines to cost them on, only each pipeline's running cost per phase: activities
/// are then costed as they come and dropped, so memory does not grow with the passage's T² scores
/// (a decode step's kept bits alone add up to ≈ 70 MB at 2,048 tokens, 1.1 GB at 8,192).
/// Fidelity is local: each call's output is compared with exact attention on the same (already
/// approximated upstream) Q, K and V.
public final class AcceleratorSeam: AttentionSeam {
    public let functional: FunctionalAttention
    public private(set) var activities: [HeadActivity.Phase: [HeadActivity]] = [:]
    public private(set) var fidelity: [HeadActivity.Phase: Fidelity] = [:]
    public private(set) var calls = 0
    var streams: [HeadActivity.Phase: [CostStream]] = [:]
    let pipelines: [AttentionPipeline]?
    /// Each layer's quantized KV cache, kept between decode steps (`QuantizedKVCache`: the same
    /// results as quantizing the whole cache every step), when `cachesKV` and the configuration allows.
    var kvCaches: [Int: QuantizedKVCache] = [:]
    let cachesKV: Bool

    /// `pipelines`: cost activities on these as they come instead of keeping them (`costs`).
    /// `cachesKV`: keep each layer's quantized KV cache between decode steps (false: every step
    /// quantizes the whole cache again, as before; tests compare the two).
    public init(_ functional: FunctionalAttention, pipelines: [AttentionPipeline]? = nil, cachesKV: Bool = true) {
        self.functional = functional
        self.pipelines = pipelines
        self.cachesKV = cachesKV && QuantizedKVCache.supports(functional.config)
    }

    /// Each pipeline's total cost of the calls of `phase` so far (with `pipelines`), in their order.
    func costs(_ phase: HeadActivity.Phase) -> [PhaseCost] {
        guard let pipelines else { return [] }
        guard var s = streams[phase] else { return pipelines.map { _ in PhaseCost() } }
        for i in s.indices { s[i].finish() }
        return s.map(\.total)
    }

    /// The KV cache may come in place: a decode step appends its row to the layer's `QuantizedKVCache`,
    /// other calls are copied once by `SeamCall`.
    public var acceptsStridedKV: Bool { true }

    public func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                       v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        let result: LayerResult
        if cachesKV && call.causal && call.queryRows == 1 && call.queryOffset > 0 && min(call.keyRows, call.validKeys) == call.queryOffset + 1 {
            // A decode step whose query row is the last key: the layer's kept cache, one row appended.
            let cache = kvCaches[call.layer] ?? QuantizedKVCache(functional)
            kvCaches[call.layer] = cache
            result = cache.step(sequence: call.sequence, layer: call.layer, heads: call.heads, kvHeads: call.kvHeads, headDim: call.headDim,
                                scale: Double(call.scale), position: call.queryOffset, q: q, k: k, v: v, kvHeadStride: call.kvHeadStride)
            SeamCall.write(result.output, rows: 1, call: call, into: out)
        } else {
            let c = SeamCall(call, q: q, k: k, v: v)
            result = functional.run(c.input)
            c.write(result.output, call: call, into: out)
        }
        if let pipelines {
            for a in result.activities {
                if streams[a.phase] == nil { streams[a.phase] = pipelines.map { CostStream(pipeline: $0, detail: .summary) } }
                for i in pipelines.indices { streams[a.phase]![i].add(a) }
            }
        } else {
            for a in result.activities { activities[a.phase, default: []].append(a) }
        }
        for (phase, f) in [(HeadActivity.Phase.prefill, result.prefill), (.decode, result.decode)] where f.rows > 0 {
            fidelity[phase, default: Fidelity()] += f
        }
        calls += 1
    }
}

/// Exact float attention that also keeps every call's Q, K, V (padding trimmed) as the functional
/// model sees them, to calibrate Top-θ thresholds on. Calls must be whole prefill passes.
///
/// With `topK` (the paper's `calib_tac`) the calls are answered by exact top-k attention (float
/// Q/K/V, each layer's k, softmax over the kept scores) instead, so the model's deeper layers — and
/// the Q, K, V recorded there — see the sparsified outputs of the layers before them.
public final class CalibrationSeam: AttentionSeam {
    public private(set) var inputs: [LayerInput] = []
    let exact = FastExactAttention()
    let topK: AttentionConfig.TopTheta?
    private var topKModels: [Int: FunctionalAttention] = [:]

    public init(topK: AttentionConfig.TopTheta? = nil) { self.topK = topK }

    /// Both `SeamCall` and the exact attention it forwards to read strided K/V.
    public var acceptsStridedKV: Bool { exact.acceptsStridedKV }

    public func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                       v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        precondition(call.queryOffset == 0, "calibration runs whole prefill passes")
        let c = SeamCall(call, q: q, k: k, v: v)
        inputs.append(c.input)
        guard let t = topK else { exact.attend(call, q: q, k: k, v: v, out: out); return }
        let kk = t.k(forLayer: call.layer)
        let fa: FunctionalAttention
        if let f = topKModels[kk] { fa = f } else {
            var cfg = AttentionConfig()
            (cfg.qBits, cfg.kBits, cfg.vBits) = (0, 0, 0)
            cfg.pruning = .topK(kk)
            fa = FunctionalAttention(config: cfg)
            topKModels[kk] = fa
        }
        c.write(fa.run(c.input).output, call: call, into: out)
    }

    /// Top-θ thresholds for `config` from the recorded calls (rows longer than `maxLength` are skipped).
    public func thresholds(for config: AttentionConfig, layers: Int, heads: Int, maxLength: Int) -> TopThetaThresholds {
        var calibrator = TopThetaCalibrator(config: config, layers: layers, heads: heads, maxLength: maxLength)
        for x in inputs { calibrator.add(x) }
        guard case .topTheta(let t) = config.pruning else { return calibrator.thresholds() }
        return calibrator.thresholds().bucketed(t)
    }
}
