import Accelerator
import AttnCore
import CKernels
import Experiments
import Foundation
import ReferenceModels

/// Every benchmark, in report order. Each checks its result once before being timed.
func allBenchmarks() -> [Benchmark] {
    gemmAndTimingBenchmarks() + functionalLayerBenchmarks() + syntheticLayerBenchmarks() + longTraceBenchmarks()
        + peakBenchmarks() + sweepBenchmarks() + modelBenchmarks()
}

func gemmAndTimingBenchmarks() -> [Benchmark] {
    var list: [Benchmark] = []
    // The GEMM list timed against SCALE-Sim (Scripts/scalesim_timing.py): 32×32 array, 3 dataflows.
    let gemms = [(128, 64, 128), (128, 128, 64), (512, 768, 768)]
    let arrays = SystolicArray.Dataflow.allCases.map { SystolicArray(rows: 32, cols: 32, dataflow: $0) }
    precondition(arrays[0].gemm(m: 128, k: 64, n: 128).cycles == 2016, "os Q·Kᵀ must be SCALE-Sim's 2015 + 1")
    list.append(Benchmark(name: "gemm_scalesim_list", unit: "9 GEMMs", itemsPerIteration: 9) {
        var sum = 0
        for a in arrays { for (m, k, n) in gemms { sum &+= a.gemm(m: m, k: k, n: n).cycles } }
        return sum
    })

    // Timing model cost per head group as sequence length grows (causal prefill, head_dim 64, 32×32).
    let hw = HardwareConfig()
    let pipeline = AttentionPipeline(hardware: hw, workload: TimingWorkload())
    for t in [128, 512, 1024, 2048, 4096] {
        let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 3, headDim: 64, phase: .prefill,
                               firstRowPosition: 0, keyCounts: (1...t).map { Int32($0) })
        // Query tiles of 32 rows, fewer when a tile's scores do not fit the score buffer (OnChipPlan).
        let check = pipeline.cost(act), q = check.queryTileRowsMin
        precondition(q >= 1 && q <= 32 && check.tiles == (t + q - 1) / q, "timing_prefill_T\(t): \(check.tiles) tiles of \(q) rows")
        list.append(Benchmark(name: "timing_prefill_T\(t)", unit: "head group", itemsPerIteration: 1) {
            pipeline.cost(act).cycles
        })
    }
    // Same tiles, 16× the cycles: the cost of evaluating must not change.
    for d in [64, 1024] {
        let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 3, headDim: d, phase: .prefill,
                               firstRowPosition: 0, keyCounts: (1...512).map { Int32($0) })
        list.append(Benchmark(name: "timing_prefill_T512_d\(d)", unit: "head group", itemsPerIteration: 1) {
            pipeline.cost(act).cycles
        })
    }
    return list
}

func functionalLayerBenchmarks() -> [Benchmark] {
    var list: [Benchmark] = []
    // Functional model: one SmolLM2 layer of the committed trace, 8-bit datapath, Top-k 16.
    if let reader = try? TraceReader(path: "Traces/smollm2-shakespeare.safetensors"), let layer = try? reader.layer(sequence: 1, layer: 10) {
        let m = reader.metadata
        let x = LayerInput(sequence: 1, layer: 10, heads: m.heads, kvHeads: m.kvHeads, tokens: layer.tokens, headDim: m.headDim,
                           causal: true, scale: Double(m.scale), promptTokens: m.promptTokens[1], q: layer.q, k: layer.k, v: layer.v)
        var cfg = AttentionConfig()
        cfg.pruning = .topK(16)
        let fa = FunctionalAttention(config: cfg)
        let macs = Double(m.heads * m.headDim * (1...layer.tokens).reduce(0, +))  // integer Q·Kᵀ MACs
        precondition(fa.run(x).prefill.rows > 0)
        list.append(Benchmark(name: "functional_smollm2_layer", unit: "layer (integer QK MACs)", itemsPerIteration: macs) {
            fa.run(x).activities.count
        })
        // The fixed-point Q·Kᵀ stage alone (quantization included), heads in parallel: the functional
        // model's integer MAC rate on a real layer (8-bit codes: the 16-bit-product SIMD path).
        precondition(fa.scoreStage(x).saturations == 0)
        list.append(Benchmark(name: "functional_qk_smollm2_layer", unit: "layer (integer QK MACs)", itemsPerIteration: macs) {
            Int(fa.scoreStage(x).scores[1])
        })
    }
    return list
}

func syntheticLayerBenchmarks() -> [Benchmark] {
    var list: [Benchmark] = []
    // The same stage on a longer SmolLM2-shaped layer (9 query heads, 3 KV heads, head_dim 64,
    // causal, 512 tokens; seeded random Q/K with a few large dimensions), where quantizing Q and K
    // (linear in tokens) weighs less against the quadratic Q·Kᵀ.
    do {
        let t = 512, heads = 9, kvHeads = 3, d = 64
        var state: UInt64 = 12345
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        let q = (0..<(heads * t * d)).map { i in next() * (i % d < 2 ? 8 : 1) }
        let k = (0..<(kvHeads * t * d)).map { i in next() * (i % d < 2 ? 8 : 1) }
        let v = (0..<(kvHeads * t * d)).map { _ in next() }
        let x = LayerInput(sequence: 0, layer: 0, heads: heads, kvHeads: kvHeads, tokens: t, headDim: d, causal: true,
                           scale: 1 / 8, promptTokens: t, q: q, k: k, v: v)
        let fa = FunctionalAttention(config: AttentionConfig())
        let portable = FunctionalAttention(config: AttentionConfig(), nativeKernels: false)
        let macs = Double(heads * d * (1...t).reduce(0, +))
        precondition(fa.scoreStage(x).saturations == 0)
        precondition(fa.scoreStage(x).scores == portable.scoreStage(x).scores)
        // With the AVX-512 VNNI kernel when the CPU has it; `_portable`: the Swift SIMD path.
        list.append(Benchmark(name: "functional_qk_T512", unit: "layer (integer QK MACs)", itemsPerIteration: macs) {
            Int(fa.scoreStage(x).scores[1])
        })
        list.append(Benchmark(name: "functional_qk_T512_portable", unit: "layer (integer QK MACs)", itemsPerIteration: macs) {
            Int(portable.scoreStage(x).scores[1])
        })
        // Four arithmetics (top-k 8, 16, 32, 64) of a sweep on the same layer: `run` of each
        // (each computes the exact float reference again) against `FunctionalAttention.run` of the
        // four together (each head's reference computed once and shared; Runner's way).
        let four = [8, 16, 32, 64].map { k in
            var c = AttentionConfig()
            c.pruning = .topK(k)
            return FunctionalAttention(config: c)
        }
        precondition(zip(FunctionalAttention.run(four, x), four).allSatisfy { $0.output == $1.run(x).output })
        list.append(Benchmark(name: "functional_T512_4_configs_separate", unit: "layer × 4 arithmetics", itemsPerIteration: 4) {
            four.map { $0.run(x).activities.count }.reduce(0, +)
        })
        list.append(Benchmark(name: "functional_T512_4_configs_shared_reference", unit: "layer × 4 arithmetics", itemsPerIteration: 4) {
            FunctionalAttention.run(four, x).map { $0.activities.count }.reduce(0, +)
        })
    }
    return list
}

func longTraceBenchmarks() -> [Benchmark] {
    var list: [Benchmark] = []
    // A long recorded trace (Scripts/record-long-traces; not committed): one configuration (8-bit
    // datapath, top-k 16) through the functional model, layer by layer as `Runner` does, next to
    // plain numpy float attention on the same trace (Scripts/numpy_attention.py).
    if let reader = try? TraceReader(path: ".cache/traces/smollm2-2048.safetensors") {
        let m = reader.metadata
        var cfg = AttentionConfig()
        cfg.pruning = .topK(16)
        let fa = FunctionalAttention(config: cfg)
        let t = reader.lengths[0]
        let macs = Double(m.layers * m.heads * m.headDim * (1...t).reduce(0, +))
        func replay() -> Int {
            var rows = 0
            for l in 0..<m.layers {
                guard let data = try? reader.layer(sequence: 0, layer: l) else { return -1 }
                let x = LayerInput(sequence: 0, layer: l, heads: m.heads, kvHeads: m.kvHeads, tokens: data.tokens, headDim: m.headDim,
                                   causal: m.causal, scale: Double(m.scale), promptTokens: m.promptTokens[0], q: data.q, k: data.k, v: data.v)
                let r = fa.run(x)
                rows += r.prefill.rows + r.decode.rows
            }
            return rows
        }
        // Checked in every iteration (a replay takes seconds; building the list must not).
        list.append(Benchmark(name: "functional_trace_2048", unit: "trace, \(t) tokens (integer QK MACs)", itemsPerIteration: macs,
                              numpyTrace: ".cache/traces/smollm2-2048.safetensors") {
            let rows = replay()
            precondition(rows == m.layers * m.heads * t, "every row of every head of every layer must be replayed")
            return rows
        })
    }
    return list
}

func peakBenchmarks() -> [Benchmark] {
    var list: [Benchmark] = []
    // The machine's peak for the same integer MAC instructions (16-bit multiplies, split into Int32
    // sums by shifts; baseline x86-64 SIMD, no loads), one register-resident loop per core.
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let peakIterations = 1 << 22
    precondition(int16MacLoop(iterations: 8, seed: 3) == int16MacLoopReference(iterations: 8, seed: 3))
    list.append(Benchmark(name: "peak_int16_mac_\(cores)_cores", unit: "\(cores) × \(peakIterations) × 64 MACs",
                          itemsPerIteration: Double(cores * peakIterations * 64)) {
        let sums = SharedSums(count: cores)
        DispatchQueue.concurrentPerform(iterations: cores) { c in sums.set(c, int16MacLoop(iterations: peakIterations, seed: Int16(c + 1))) }
        return Int(sums.total)
    })

    // The CPU's int8 peak: 8 independent `vpdpbusd` (64 8-bit MACs each) on registers, per core.
    if FunctionalAttention.cpuHasVNNI {
        let vnniIterations = 1 << 22
        precondition(attnsim_vnni_peak_loop(8, 3) == attnsim_vnni_peak_loop_reference(8, 3))
        list.append(Benchmark(name: "peak_vnni_int8_mac_\(cores)_cores", unit: "\(cores) × \(vnniIterations) × 512 MACs",
                              itemsPerIteration: Double(cores * vnniIterations * 512)) {
            let sums = SharedSums(count: cores)
            DispatchQueue.concurrentPerform(iterations: cores) { c in sums.set(c, attnsim_vnni_peak_loop(vnniIterations, Int32(c + 1))) }
            return Int(sums.total)
        })
    }

    // The VNNI Q·Kᵀ kernel alone (what `scores` calls per row): every causal row of a 2,048-key,
    // d = 64 head against its visible keys, on one core; compare with the per-core peak above.
    if FunctionalAttention.cpuHasVNNI {
        let t = 2048, d = 64
        var state: UInt64 = 99
        func code() -> Int32 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int32(Int64(bitPattern: state >> 11) % 255 - 127)
        }
        let k = (0..<(t * d)).map { _ in code() }, q = (0..<(t * d)).map { _ in code() }
        var packed = [Int8](repeating: 0, count: attnsim_qk_packed_bytes(t, d))
        var sums = [Int32](repeating: 0, count: t)
        attnsim_qk_pack_i8(k, t, d, &packed, &sums)
        var out = [Int32](repeating: 0, count: t)
        attnsim_qk_i8_vnni(q, d, packed, sums, t, &out)
        precondition(out[5] == (0..<d).reduce(Int32(0)) { $0 + q[$1] * k[5 * d + $1] })
        let kernel = VNNIKernelBench(q: q, packed: packed, sums: sums, t: t, d: d, rows: 1)
        list.append(Benchmark(name: "vnni_qk_kernel_T2048_1_core", unit: "causal head, T 2048, d 64 (MACs)",
                              itemsPerIteration: Double(d * (1...t).reduce(0, +))) { kernel.run() })
        // The register-blocked micro-kernel `runHead` uses: 4 rows per call (each K block loaded
        // once for the 4), keys up to the last row's; only the visible keys' MACs are counted.
        let kernel4 = VNNIKernelBench(q: q, packed: packed, sums: sums, t: t, d: d, rows: Int(ATTNSIM_QK_MAX_ROWS))
        precondition(kernel4.run() == kernel.run())
        list.append(Benchmark(name: "vnni_qk_kernel_rows\(ATTNSIM_QK_MAX_ROWS)_T2048_1_core", unit: "causal head, T 2048, d 64 (MACs)",
                              itemsPerIteration: Double(d * (1...t).reduce(0, +))) { kernel4.run() })
        // The accelerated datapath's P·V kernel (`attnsim_pv_codes_f64`, what `runHead` calls per
        // row with the row's kept keys): in Double, as the model defines that arithmetic (one rounding
        // per multiply and add). Here every row keeps a quarter of its causal keys (every 4th), so
        // MACs = d · Σ ⌈(i + 1) / 4⌉; compare with the int8 peak above (a different instruction).
        let pv = PVKernelBench(v: k, t: t, d: d, stride: 4)
        list.append(Benchmark(name: "pv_codes_kernel_T2048_1_core", unit: "causal head, T 2048, d 64, 1/4 of keys kept (MACs)",
                              itemsPerIteration: Double(d * pv.keptTotal)) { pv.run() })
    }
    return list
}

func sweepBenchmarks() -> [Benchmark] {
    var list: [Benchmark] = []
    // Sweeps over the default traces (run from the package root).
    for (name, path) in [("sweep_1000_timing_only", "Configs/sweep-1000.yaml"), ("sweep_small_18", "Configs/sweep-small.yaml")] {
        guard let points = try? ExperimentLoader.load(path: path) else { continue }
        list.append(Benchmark(name: name, unit: "sweep (\(points.count) points)", itemsPerIteration: Double(points.count)) {
            guard let rows = try? Runner().run(points) else { return -1 }
            return rows.count
        })
    }
    return list
}

/// Reference-model speed (needs Scripts/fetch-assets): MiniLM forward of 128 tokens, SmolLM2
/// prefill of 256 tokens and single-token decode steps.
func modelBenchmarks() -> [Benchmark] {
    var list: [Benchmark] = []
    if let encoder = try? BertEncoder(directory: ".assets/minilm") {
        let ids = [Int32(101)] + (0..<126).map { Int32(1000 + $0 * 37 % 20000) } + [102]
        precondition((try? encoder.forward(ids))?.tokens == 128)
        list.append(Benchmark(name: "minilm_forward_128", unit: "forward (128 tokens)", itemsPerIteration: 128) {
            (try? encoder.forward(ids))?.tokens ?? -1
        })
    }
    if let model = try? LlamaModel(path: ".assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") {
        let prompt = (0..<256).map { 100 + $0 * 53 % 40000 }
        list.append(Benchmark(name: "smollm2_prefill_256", unit: "prefill (256 tokens)", itemsPerIteration: 256) {
            var cache = model.makeCache()
            return (try? model.forward(prompt, cache: &cache, logitsFor: true))?.count ?? -1
        })
        // One decode step at position 256, in steady state: the cache has room (no reallocation) and is
        // truncated back to the prompt before each step (no copy of a shared cache).
        let box = CacheBox(model.makeCache(capacity: 512))
        _ = try? model.forward(prompt, cache: &box.cache, logitsFor: true)
        list.append(Benchmark(name: "smollm2_decode_step_at_256", unit: "token", itemsPerIteration: 1) {
            box.cache.truncate(to: 256)
            return (try? model.forward([42], cache: &box.cache, logitsFor: true))?.count ?? -1
        })
        // Greedy generation of 32 tokens after the 256-token prompt (positions 256..<288, argmax over
        // the vocabulary included): the tokens/s a user of `generate` sees, without the prefill.
        list.append(Benchmark(name: "smollm2_generate_32_after_256", unit: "32 tokens", itemsPerIteration: 32) {
            box.cache.truncate(to: 256)
            var next = 42
            for _ in 0..<32 {
                guard let logits = try? model.forward([next], cache: &box.cache, logitsFor: true) else { return -1 }
                next = logits.indices.max { logits[$0] < logits[$1] }!
            }
            return next
        })
        // One decode step of a 1,792-token prompt's KV cache through the accelerator in the loop
        // (int8 Q/K/V per head, costed on the default hardware as `eval` does), with each layer's
        // quantized KV cache kept between steps (`QuantizedKVCache`) and without (every step
        // quantizes the whole cache), and with float attention (the model's own step). Steady state:
        // positions 1,792 … 2,047, then back to 1,792 (that one step loads the cache again). The
        // prompt runs in float on the first iteration.
        for kind in ["kept_kv", "requantized_kv", "float"] {
            let state = AcceleratorDecodeBox(model, kept: kind == "kept_kv", float: kind == "float")
            list.append(Benchmark(name: "smollm2_accelerator_decode_step_at_1792_" + kind, unit: "token", itemsPerIteration: 1) { state.step() })
        }
    }
    return list
}

/// A 1,792-token prompt's KV cache (computed on first use) and an accelerator seam stepping through it.
final class AcceleratorDecodeBox {
    let model: LlamaModel
    let seam: any AttentionSeam
    var cache: LlamaModel.KVCache?
    static let prompt = 1792

    init(_ model: LlamaModel, kept: Bool, float: Bool) {
        self.model = model
        let cfg = AttentionConfig()
        seam = float ? FastExactAttention()
            : AcceleratorSeam(FunctionalAttention(config: cfg), pipelines: [AttentionPipeline(hardware: HardwareConfig(), workload: cfg.timingWorkload)],
                              cachesKV: kept)
    }

    func step() -> Int {
        if cache == nil {
            var c = model.makeCache(capacity: 2048)
            _ = try? model.forward((0..<Self.prompt).map { 100 + $0 * 53 % 40000 }, cache: &c, logitsFor: true)
            cache = c
        }
        if cache!.count == 2048 { cache!.truncate(to: Self.prompt) }
        return (try? model.forward([42 + cache!.count % 7], cache: &cache!, seam: seam, logitsFor: true))?.count ?? -1
    }
}

final class CacheBox {
    var cache: LlamaModel.KVCache
    init(_ cache: LlamaModel.KVCache) { self.cache = cache }
}

/// 64 multiply-accumulates per iteration in four independent chains of 16: SIMD8<Int16> products
/// (operands stepped by one add per 8 lanes so that nothing is loop-invariant), each pair of
/// products split into two sign-extended Int32 halves by shifts and added — the instructions of
/// FunctionalAttention's 16-bit Q·Kᵀ path without its loads. Wrapping arithmetic throughout.
@inline(never) func int16MacLoop(iterations: Int, seed: Int16) -> Int32 {
    let b = SIMD8<Int16>(1, -2, 3, -4, 5, -6, 7, -8)
    var a0 = SIMD8<Int16>(repeating: seed), a1 = a0 &+ 1, a2 = a0 &+ 2, a3 = a0 &+ 3
    var a4 = a0 &+ 4, a5 = a0 &+ 5, a6 = a0 &+ 6, a7 = a0 &+ 7
    var s0 = SIMD4<Int32>(), s1 = s0, s2 = s0, s3 = s0
    @inline(__always) func widen(_ p: SIMD8<Int16>) -> SIMD4<Int32> {
        let w = unsafeBitCast(p, to: SIMD4<Int32>.self)
        return ((w &<< 16) &>> 16) &+ (w &>> 16)
    }
    for _ in 0..<iterations {
        s0 &+= widen(a0 &* b); s1 &+= widen(a1 &* b); s2 &+= widen(a2 &* b); s3 &+= widen(a3 &* b)
        s0 &+= widen(a4 &* b); s1 &+= widen(a5 &* b); s2 &+= widen(a6 &* b); s3 &+= widen(a7 &* b)
        a0 &+= b; a1 &+= b; a2 &+= b; a3 &+= b; a4 &+= b; a5 &+= b; a6 &+= b; a7 &+= b
    }
    return (s0 &+ s1 &+ s2 &+ s3).wrappedSum()
}

/// The same sums one scalar multiply-accumulate at a time (checks the SIMD loop computes them).
func int16MacLoopReference(iterations: Int, seed: Int16) -> Int32 {
    let b: [Int16] = [1, -2, 3, -4, 5, -6, 7, -8]
    var a = (0..<8).map { SIMD8<Int16>(repeating: seed &+ Int16($0)) }
    var total: Int32 = 0
    for _ in 0..<iterations {
        for r in 0..<8 {
            for l in 0..<8 { total &+= Int32(a[r][l] &* b[l]) }
            a[r] &+= SIMD8<Int16>(b)
        }
    }
    return total
}

final class SharedSums: @unchecked Sendable {
    private var values: [Int32]
    private let lock = NSLock()
    init(count: Int) { values = .init(repeating: 0, count: count) }
    func set(_ i: Int, _ v: Int32) { lock.lock(); values[i] = v; lock.unlock() }
    var total: Int32 { lock.lock(); defer { lock.unlock() }; return values.reduce(0, &+) }
}

/// Inputs of `pv_codes_kernel_T2048_1_core`: V codes of t keys × d; row i keeps the keys
/// 0, stride, 2·stride, … ≤ i, the m-th with weight w[m] = 1 / (m + 1); one output row per call.
final class PVKernelBench {
    let v: [Int32], t: Int, d: Int, stride: Int, rows: [Int32], w: [Double], scale: [Double]
    var out: [Double]
    var keptTotal: Int { (0..<t).reduce(0) { $0 + $1 / stride + 1 } }
    init(v: [Int32], t: Int, d: Int, stride: Int) {
        self.v = v; self.t = t; self.d = d; self.stride = stride
        rows = Swift.stride(from: 0, to: t, by: stride).map(Int32.init)
        w = rows.indices.map { 1 / Double($0 + 1) }
        scale = (0..<d).map { 1 / Double(128 + $0) }
        out = .init(repeating: 0, count: d)
        // The kernel computes the portable loop's Doubles (checked here on the last row).
        let last = (t - 1) / stride + 1
        attnsim_pv_codes_f64(rows, w, last, v, d, scale, &out)
        var ref = [Double](repeating: 0, count: d)
        for m in 0..<last { for c in 0..<d { ref[c] += w[m] * (Double(v[Int(rows[m]) * d + c]) * scale[c]) } }
        precondition(out == ref)
    }
    /// Σ over rows of the output's first element, as an integer checksum.
    func run() -> Int {
        var check = 0.0
        for i in 0..<t {
            for c in 0..<d { out[c] = 0 }
            attnsim_pv_codes_f64(rows, w, i / stride + 1, v, d, scale, &out)
            check += out[0]
        }
        return Int(check * 1000)
    }
}

/// Inputs of the `vnni_qk_kernel_*_T2048_1_core` benchmarks: `rows` rows' dot products per call,
/// rows 0..<t against keys 0...row (a block of rows against the keys of its last row).
final class VNNIKernelBench {
    let q: [Int32], packed: [Int8], sums: [Int32], t: Int, d: Int, rows: Int
    var out: [Int32]
    init(q: [Int32], packed: [Int8], sums: [Int32], t: Int, d: Int, rows: Int) {
        self.q = q; self.packed = packed; self.sums = sums; self.t = t; self.d = d; self.rows = rows
        out = .init(repeating: 0, count: rows * t)
    }
    /// Σ over rows i of the dot product with key i (the diagonal): equal for every `rows`.
    func run() -> Int {
        var check = 0
        q.withUnsafeBufferPointer { qb in
            out.withUnsafeMutableBufferPointer { ob in
                for i in stride(from: 0, to: t, by: rows) {
                    let r = min(rows, t - i)
                    attnsim_qk_i8_vnni_rows(qb.baseAddress! + i * d, d, Int32(r), d, packed, sums, i + r, ob.baseAddress!, t)
                    for k in 0..<r { check &+= Int(ob[k * t + i + k]) }
                }
            }
        }
        return check
    }
}
