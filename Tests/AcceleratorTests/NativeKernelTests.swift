import AttnCore
import CKernels
import Testing
@testable import Accelerator

/// The AVX-512 VNNI Q·Kᵀ kernel (CKernels) against the portable Swift path and a scalar Int64 sum:
/// the same integers, bit for bit, on random and edge-case codes and shapes.
struct NativeKernelTests {
    /// Scalar Σ q·k in Int64.
    static func dot(_ q: [Int32], _ k: [Int32], row j: Int, d: Int) -> Int64 {
        (0..<d).reduce(Int64(0)) { $0 + Int64(q[$1]) * Int64(k[j * d + $1]) }
    }

    /// Every code in [−128, 127] (−128 is outside the symmetric quantizer's range, but the offset-128
    /// trick must hold for it too), extremes, and key counts and dimensions off the 16-key / 4-byte
    /// block sizes.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI), arguments: [1, 3, 4, 17, 64, 100, 256])
    func kernelEqualsScalarSums(d: Int) {
        var rng = SeededRNG(seed: UInt64(d))
        for n in [1, 15, 16, 17, 63, 64, 65, 130] {
            var k = (0..<(n * d)).map { _ in Int32(Int(rng.next() % 256) - 128) }
            var q = (0..<d).map { _ in Int32(Int(rng.next() % 256) - 128) }
            // Edge rows: all −128 against all −128 (largest positive sum), all 127 against −128.
            if n > 2 {
                for c in 0..<d { k[c] = -128; k[d + c] = 127; k[2 * d + c] = 0 }
            }
            if d == 100 { q = .init(repeating: -128, count: d) }
            var packed = [Int8](repeating: 0, count: attnsim_qk_packed_bytes(n, d))
            var sums = [Int32](repeating: 0, count: n)
            var out = [Int32](repeating: 0x5555, count: n + 16)
            attnsim_qk_pack_i8(k, n, d, &packed, &sums)
            attnsim_qk_i8_vnni(q, d, packed, sums, n, &out)
            for j in 0..<n { #expect(Int64(out[j]) == Self.dot(q, k, row: j, d: d), "d \(d) n \(n) key \(j)") }
            // Nothing written past n.
            #expect(out[n...].allSatisfy { $0 == 0x5555 })
        }
    }

    /// The register-blocked kernel (1 … 4 rows against the same keys) against scalar Int64 sums:
    /// row and key counts off the 4-row / 16-key / 64-key blocks, head dimensions off 4 and 64,
    /// the extreme codes (−128·−128 in every term: the largest sum; 127·−128: the most negative),
    /// row strides other than d, and nothing written outside each row's n keys.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI), arguments: [1, 2, 5, 63, 64, 65, 100, 130, 4096])
    func rowsKernelEqualsScalarSums(d: Int) {
        var rng = SeededRNG(seed: 31 + UInt64(d))
        for n in [1, 15, 16, 17, 48, 63, 64, 65, 127, 200] where d < 1024 || n <= 65 {
            var k = (0..<(n * d)).map { _ in Int32(Int(rng.next() % 256) - 128) }
            if n > 3 { for c in 0..<d { k[c] = -128; k[d + c] = 127; k[2 * d + c] = 0 } }
            for rows in 1...Int(ATTNSIM_QK_MAX_ROWS) {
                let qStride = d + 3
                var q = (0..<(rows * qStride)).map { _ in Int32(Int(rng.next() % 256) - 128) }
                if rows >= 2 { for c in 0..<d { q[c] = -128; q[qStride + c] = 127 } }
                var packed = [Int8](repeating: 0, count: attnsim_qk_packed_bytes(n, d))
                var sums = [Int32](repeating: 0, count: n)
                attnsim_qk_pack_i8(k, n, d, &packed, &sums)
                let outStride = n + 7
                var out = [Int32](repeating: 0x5555, count: rows * outStride + 16)
                attnsim_qk_i8_vnni_rows(q, qStride, Int32(rows), d, packed, sums, n, &out, outStride)
                for r in 0..<rows {
                    let qr = Array(q[(r * qStride)..<(r * qStride + d)])
                    for j in 0..<n { #expect(Int64(out[r * outStride + j]) == Self.dot(qr, k, row: j, d: d), "d \(d) n \(n) rows \(rows) row \(r) key \(j)") }
                    #expect(out[(r * outStride + n)..<((r + 1) * outStride)].allSatisfy { $0 == 0x5555 }, "d \(d) n \(n) rows \(rows): written past n")
                }
                #expect(out[(rows * outStride)...].allSatisfy { $0 == 0x5555 })
            }
        }
    }

    /// The native P·V (kept rows' probabilities × dequantized V codes) against the portable loop
    /// `o[c] += w · (Double(code) · scale[c])`, Double for Double: d off the 8- and 64-dimension
    /// blocks, no kept row, log-quantizer levels and arbitrary weights, scales of very different
    /// magnitudes (every rounding shows), extreme and 16-bit codes, a starting o with −0.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI), arguments: [1, 7, 8, 9, 64, 65, 100, 200])
    func pvKernelEqualsSwiftLoop(d: Int) {
        var rng = SeededRNG(seed: 500 + UInt64(d))
        func unit() -> Double { Double(rng.next() % 1_000_001) / 1_000_000 }
        let t = 90
        let levels = ProbabilityQuantizer(.log(bits: 3, threshold: 1e-3)).levels
        for trial in 0..<6 {
            let wide = trial % 3 == 2
            let v = (0..<(t * d)).map { _ in Int32(Int(rng.next() % (wide ? 65_536 : 256)) - (wide ? 32_768 : 128)) }
            let scale = (0..<d).map { c in (unit() + 1e-3) * (c % 3 == 0 ? 1e-5 : c % 3 == 1 ? 1 : 3e4) }
            let count = trial == 0 ? 0 : Int(rng.next() % UInt64(t)) + 1
            let rows = (0..<t).filter { _ in rng.next() % 2 == 0 }.prefix(count).map { Int32($0) }
            let w = rows.map { _ in trial % 2 == 0 ? levels[Int(rng.next() % UInt64(levels.count))] : unit() }
            var expected = (0..<d).map { c in c % 4 == 0 ? -0.0 : unit() - 0.5 }
            var got = expected
            for (m, j) in rows.enumerated() {
                for c in 0..<d { expected[c] += w[m] * (Double(v[Int(j) * d + c]) * scale[c]) }
            }
            attnsim_pv_codes_f64(rows, w, rows.count, v, d, scale, &got)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "d \(d) trial \(trial) rows \(rows.count)")
        }
    }

    /// The multi-row reference kernels (1 … ATTNSIM_REF_MAX_ROWS rows per pass) against the one-row
    /// kernels and the portable Swift loops (`ExactSoftmax.referenceRow` without transposed keys),
    /// Double for Double: head dimensions off 8 and 64 (odd too), key counts off the 8- and 32-key
    /// blocks, rows of different lengths (causal runs and arbitrary ones), probabilities with zeros
    /// (skipped keys), and nothing written past each row's n scores.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI), arguments: [1, 7, 8, 63, 64, 65, 100])
    func referenceRowsKernelsEqualOneRowKernels(d: Int) {
        var rng = SeededRNG(seed: 900 + UInt64(d))
        func value() -> Float { Float(Int(rng.next() % 2_000_001) - 1_000_000) / 250_000 }
        let lengths: [[Int]] = [[1], [5, 6], [31, 32, 33], [61, 62, 63, 64], [130, 7, 64, 1], [200, 200, 3], [9, 40]]
        for ns in lengths {
            let t = ns.max()!, rows = ns.count, sentinel = Double.nan.bitPattern | 0x1234
            let k = (0..<(t * d)).map { _ in value() }, v = (0..<(t * d)).map { _ in value() }
            let q = (0..<rows).map { _ in (0..<d).map { _ in value() } }
            var kt = [Float](repeating: 0, count: (t + 7) / 8 * 8 * d)
            attnsim_transpose8_f32(k, t, d, &kt)
            let scale = 0.125
            // Scores: the multi-row kernel into buffers one longer than n (the sentinel must stay).
            let sBufs = ns.map { n in UnsafeMutablePointer<Double>.allocate(capacity: n + 1) }
            defer { sBufs.forEach { $0.deallocate() } }
            for (r, n) in ns.enumerated() { sBufs[r].initialize(repeating: Double(bitPattern: sentinel), count: n + 1) }
            let qPtrs = q.map { row in UnsafeMutablePointer<Float>.allocate(capacity: max(d, 1)) }
            defer { qPtrs.forEach { $0.deallocate() } }
            for r in 0..<rows { qPtrs[r].initialize(from: q[r], count: d) }
            let qs: [UnsafePointer<Float>?] = qPtrs.map { UnsafePointer($0) }, sOut: [UnsafeMutablePointer<Double>?] = sBufs
            attnsim_ref_scores_f64_rows(qs, Int32(rows), kt, d, ns, scale, sOut)
            // Probabilities with zeros: the scores' magnitudes, every third key 0.
            var ps: [[Double]] = []
            for (r, n) in ns.enumerated() {
                var one = [Double](repeating: 0, count: n)
                attnsim_ref_scores_f64(q[r], kt, d, n, scale, &one)
                let got = (0..<n).map { sBufs[r][$0].bitPattern }
                #expect(got == one.map(\.bitPattern), "d \(d) lengths \(ns) row \(r): scores differ from the one-row kernel")
                #expect(sBufs[r][n].bitPattern == sentinel, "d \(d) lengths \(ns) row \(r): written past n")
                let swift = (0..<n).map { j in (0..<d).reduce(0.0) { $0 + Double(q[r][$1]) * Double(k[j * d + $1]) } * scale }
                #expect(one.map(\.bitPattern) == swift.map(\.bitPattern), "d \(d) n \(n): one-row kernel vs Swift")
                ps.append((0..<n).map { j in j % 3 == 1 ? 0 : abs(one[j]) / 7 })
            }
            // P·V: the multi-row kernel against the one-row kernel and the Swift loop.
            let pPtrs = ps.map { p in UnsafeMutablePointer<Double>.allocate(capacity: max(p.count, 1)) }
            let oPtrs = ns.map { _ in UnsafeMutablePointer<Double>.allocate(capacity: max(d, 1)) }
            defer { pPtrs.forEach { $0.deallocate() }; oPtrs.forEach { $0.deallocate() } }
            for r in 0..<rows { pPtrs[r].initialize(from: ps[r], count: ps[r].count) }
            let pc: [UnsafePointer<Double>?] = pPtrs.map { UnsafePointer($0) }, oOut: [UnsafeMutablePointer<Double>?] = oPtrs
            attnsim_ref_pv_f64_rows(pc, Int32(rows), v, d, ns, oOut)
            for (r, n) in ns.enumerated() {
                var one = [Double](repeating: 0, count: d)
                attnsim_ref_pv_f64(ps[r], v, d, n, &one)
                var swift = [Double](repeating: 0, count: d)
                for j in 0..<n where ps[r][j] > 0 { for c in 0..<d { swift[c] += ps[r][j] * Double(v[j * d + c]) } }
                #expect((0..<d).map { oPtrs[r][$0].bitPattern } == one.map(\.bitPattern), "d \(d) lengths \(ns) row \(r): P·V differs")
                #expect(one.map(\.bitPattern) == swift.map(\.bitPattern), "d \(d) n \(n): one-row P·V vs Swift")
            }
            // The whole reference: `referenceRows` on the native kernels vs the portable row by row.
            let probs = ns.map { n in UnsafeMutablePointer<Double>.allocate(capacity: n) }
            let outs = ns.map { _ in UnsafeMutablePointer<Double>.allocate(capacity: max(d, 1)) }
            defer { probs.forEach { $0.deallocate() }; outs.forEach { $0.deallocate() } }
            k.withUnsafeBufferPointer { kb in
                kt.withUnsafeBufferPointer { ktb in
                    v.withUnsafeBufferPointer { vb in
                        ExactSoftmax.referenceRows(q: qs.map { $0! }, keys: .init(kb.baseAddress!, transposed: ktb.baseAddress!),
                                                   v: vb.baseAddress!, d: d, n: ns, scale: scale, probabilities: probs, out: outs)
                        for (r, n) in ns.enumerated() {
                            var p = [Double](repeating: 0, count: n), o = [Double](repeating: 0, count: d)
                            ExactSoftmax.referenceRow(q: qs[r]!, keys: .init(kb.baseAddress!), v: vb.baseAddress!, d: d, n: n, scale: scale,
                                                      probabilities: &p, out: &o)
                            #expect((0..<n).map { probs[r][$0].bitPattern } == p.map(\.bitPattern), "d \(d) lengths \(ns) row \(r): probabilities")
                            #expect((0..<d).map { outs[r][$0].bitPattern } == o.map(\.bitPattern), "d \(d) lengths \(ns) row \(r): outputs")
                        }
                    }
                }
            }
        }
    }

    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI))
    func peakLoopComputesItsChecksum() {
        for seed: Int32 in [1, 2, 77] {
            #expect(attnsim_vnni_peak_loop(1000, seed) == attnsim_vnni_peak_loop_reference(1000, seed))
        }
    }

    /// `run` and `scoreStage` with the native kernel on and off: identical outputs, fidelity,
    /// activities and scores; datapaths the kernel does not take (wider codes, a saturating
    /// 16-bit accumulator, PEG, float) fall back to the portable path and agree too.
    @Test func nativeAndPortableRunsAreBitIdentical() {
        var configs: [AttentionConfig] = []
        var c = AttentionConfig(); configs.append(c)
        c.pruning = .topK(5); configs.append(c)
        c = AttentionConfig(); c.qBits = 6; c.kBits = 7; c.granularity = .tensor; configs.append(c)
        c = AttentionConfig(); c.accBits = 16; configs.append(c)
        c = AttentionConfig(); c.accBits = 20; configs.append(c)
        c = AttentionConfig(); c.qBits = 12; c.kBits = 12; configs.append(c)
        c = AttentionConfig(); c.granularity = .peg; c.pegGroups = 4; configs.append(c)
        c = AttentionConfig(); c.qBits = 0; configs.append(c)
        c = AttentionConfig(); c.vBits = 4; c.probabilityQuantization = .log(bits: 3, threshold: 1e-3); c.pruning = .topK(7); configs.append(c)
        c = AttentionConfig(); c.vBits = 12; c.granularity = .peg; c.pegGroups = 3; c.probabilityQuantization = .uniform(bits: 4); configs.append(c)
        c = AttentionConfig(); c.vBits = 0; configs.append(c)
        var layers: [LayerInput] = []
        for (i, sh) in [(4, 2, 23, 8, true), (3, 1, 70, 20, true), (2, 2, 17, 8, false), (9, 3, 150, 64, true), (2, 1, 40, 3, true),
                        (2, 1, 33, 100, true), (3, 3, 6, 65, false)].enumerated() {
            layers.append(randomLayer(seed: 900 + UInt64(i), heads: sh.0, kvHeads: sh.1, tokens: sh.2, dim: sh.3, causal: sh.4,
                                      prompt: sh.2 - 5, outlierDim: i % 2 == 0 ? 1 : nil))
        }
        // Query-row sub-ranges whose length and start are off the 4-row blocks of the kernel
        // (a decode step's single row, rows 5..<18 of 37).
        for (i, rows) in [36..<37, 5..<18].enumerated() {
            let full = randomLayer(seed: 950 + UInt64(i), heads: 4, kvHeads: 2, tokens: 37, dim: 16, causal: true, prompt: 30)
            var q: [Float] = []
            for h in 0..<4 { q += full.q[((h * 37 + rows.lowerBound) * 16)..<((h * 37 + rows.upperBound) * 16)] }
            layers.append(LayerInput(sequence: 0, layer: 0, heads: 4, kvHeads: 2, tokens: 37, headDim: 16, causal: true,
                                     scale: full.scale, promptTokens: 30, queryRows: rows, q: q, k: full.k, v: full.v))
        }
        var saturated = 0, native = 0
        for cfg in configs {
            let a = FunctionalAttention(config: cfg, nativeKernels: true), b = FunctionalAttention(config: cfg, nativeKernels: false)
            for (li, x) in layers.enumerated() {
                if !a.quantize(x).k8.isEmpty { native += 1 }
                let ra = a.run(x), rb = b.run(x)
                let label = "config \(cfg.qBits)/\(cfg.kBits) acc \(cfg.accBits) \(cfg.granularity) layer \(li)"
                FunctionalBitIdentityTests.expectSame(ra, rb, label)
                let sa = a.scoreStage(x), sb = b.scoreStage(x)
                #expect(sa.scores.map(\.bitPattern) == sb.scores.map(\.bitPattern), "\(label): scores")
                #expect(sa.saturations == sb.saturations, "\(label): saturations")
                saturated += sa.saturations
            }
        }
        // The 16- and 20-bit accumulators saturate (the kernel must not be used there), and on a
        // VNNI machine the 8-bit configs did take the kernel.
        #expect(saturated > 0)
        #expect(native > 0 || !FunctionalAttention.cpuHasVNNI)
    }

    /// Top-k by a k-element heap selects the same set as the first k of the full sort it replaced
    /// (ties broken by lower index; −0 and +0 tie; infinities), for k from 1 to n − 1, with the
    /// candidates from the portable Swift code and (on an AVX-512 machine) from the C kernel.
    @Test func topKHeapSelectsTheSortedPrefix() {
        var rng = SeededRNG(seed: 77)
        for trial in 0..<200 {
            let n = 2 + Int(rng.next() % (trial % 10 == 0 ? 300 : 40))
            var s = (0..<n).map { _ in Double(Int(rng.next() % 7) - 3) }
            if trial % 3 == 0 { s[0] = -0.0; s[n - 1] = 0.0 }
            if trial % 5 == 0 { s[n / 2] = .infinity; s[0] = -.infinity }
            let sorted = (0..<n).sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
            for k in 1..<n {
                for native in FunctionalAttention.cpuHasVNNI ? [false, true] : [false] {
                    var heap = [Int](repeating: -1, count: n)
                    var candidates = [Int](repeating: -1, count: n)
                    s.withUnsafeBufferPointer { sp in
                        heap.withUnsafeMutableBufferPointer { hp in
                            candidates.withUnsafeMutableBufferPointer { cp in
                                FunctionalAttention.topK(sp.baseAddress!, n: n, k: k, heap: hp.baseAddress!, candidates: cp.baseAddress!,
                                                         native: native)
                            }
                        }
                    }
                    #expect(Set(heap[0..<k]) == Set(sorted[0..<k]), "trial \(trial) k \(k) native \(native): \(s)")
                }
            }
        }
    }

    /// The top-k candidates kernel (CKernels) against its portable Swift twin
    /// (`FunctionalAttention.topKCandidates`): the same count and indices, nothing written past the
    /// count, on random scores with many ties, ±0, infinities, rising rows (most keys candidates),
    /// and n, k off the 8-key blocks.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI)) func topKCandidatesKernelEqualsSwift() {
        var rng = SeededRNG(seed: 4242)
        for trial in 0..<300 {
            let n = 2 + Int(rng.next() % (trial % 4 == 0 ? 2200 : 70))
            var s: [Double]
            switch trial % 3 {
            case 0: s = (0..<n).map { _ in Double(Int(rng.next() % 5) - 2) }
            case 1: s = (0..<n).map { j in Double(j) * 0.01 + Double(rng.next() % 1000) * 1e-4 }
            default: s = (0..<n).map { _ in Double(bitPattern: rng.next() >> 2) * (rng.next() % 2 == 0 ? 1 : -1) }
            }
            if trial % 7 == 0 { s[0] = -0.0; s[n - 1] = 0.0; s[n / 2] = .infinity; s[n / 3] = -.infinity }
            for k in Set([1, 2, 7, 8, 9, 16, n / 2, n - 1]) where k >= 1 && k < n {
                var swift = [Int](repeating: -7, count: n + 8), native = swift
                let cs = s.withUnsafeBufferPointer { sp in
                    swift.withUnsafeMutableBufferPointer { FunctionalAttention.topKCandidates(sp.baseAddress!, n: n, k: k, into: $0.baseAddress!) }
                }
                let cn = s.withUnsafeBufferPointer { sp in
                    native.withUnsafeMutableBufferPointer { attnsim_topk_candidates_f64(sp.baseAddress!, n, k, $0.baseAddress!) }
                }
                #expect(cs >= k && cn == cs, "trial \(trial) n \(n) k \(k): counts \(cs), \(cn)")
                #expect(native == swift, "trial \(trial) n \(n) k \(k)")
                #expect(native[cn...].allSatisfy { $0 == -7 }, "trial \(trial): written past the count")
            }
        }
    }
}
