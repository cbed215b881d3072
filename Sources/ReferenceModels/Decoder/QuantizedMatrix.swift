import AttnCore
import Dispatch

/// A weight matrix kept in its GGUF block format (Q4_1 or Q8_0) for single-row products: a decode
/// step reads 0.75–1.1 bytes per weight instead of 4. Q4_1: y[r] = Σ_b d_b·Σ_j q_bj·x_bj + m_b·Σ_j x_bj
/// (the same products q·x as with the dequantized matrix, summed in another order); Q8_0 with the
/// codes offset to u = q + 128: y[r] = Σ_b d_b·(Σ_j u_bj·x_bj − 128·Σ_j x_bj).
///
/// At load the blocks are repacked for 4-lane SIMD: the F16 scale d (and Q4_1 minimum m) become Float,
/// and the codes are interleaved so that lane i of the k-th 4-bit (Q4_1) or 8-bit (Q8_0) field of a
/// SIMD4<UInt32> word holds weight 4k + i. The kernel masks a field in place and converts it with
/// one Int32 → Float instruction, giving code·2^(bit offset) exactly; x is pre-scaled by the inverse
/// power of two, so every product equals code·x exactly (the top field is shifted down instead, as
/// it does not fit a positive Int32). Written this way because the Swift compiler lowers SIMD float
/// arithmetic lane by lane and relies on LLVM to re-vectorize it: variable shifts, integer
/// subtractions or two partial sums per block made it emit lane-wise code, 3–4× slower.
struct QuantizedMatrix: @unchecked Sendable {
    enum Format { case q4_1, q8_0 }
    let format: Format
    let rows: Int
    let cols: Int
    /// d per block, rows × cols/32, row-major.
    let scales: [Float]
    /// m per block (Q4_1 only; empty for Q8_0).
    let mins: [Float]
    /// Codes, per block 4 (Q4_1) or 8 (Q8_0) UInt32. Q4_1: word i, bits 4k..<4k+4 = code of weight
    /// 4k + i (k < 8). Q8_0: word 4g + i, bits 8k..<8k+8 = q + 128 of weight 16g + 4k + i (g < 2, k < 4).
    let codes: [UInt32]

    var wordsPerBlock: Int { format == .q4_1 ? 4 : 8 }

    /// The tensor's blocks, repacked, when its type has a fast kernel, with rows reordered by
    /// `rowOrder` (destination row i takes source row rowOrder[i]); nil otherwise.
    init?(_ f: GGUFFile, _ name: String, rowOrder: [Int]? = nil) throws(AttnError) {
        let t = try f.tensor(name)
        let format: Format
        switch t.type {
        case .q4_1: format = .q4_1
        case .q8_0: format = .q8_0
        default: return nil
        }
        self.init(format: format, rows: t.rows, cols: t.rowLength, blocks: try f.rawBytes(name), rowOrder: rowOrder)
    }

    /// Repacks GGUF blocks (rows × cols/32 blocks of 20 (Q4_1) or 34 (Q8_0) bytes, row-major).
    init(format: Format, rows: Int, cols: Int, blocks raw: [UInt8], rowOrder: [Int]? = nil) {
        let nb = cols / 32
        let blockBytes = format == .q4_1 ? 20 : 34, wpb = format == .q4_1 ? 4 : 8
        precondition(cols % 32 == 0 && raw.count == rows * nb * blockBytes && (rowOrder?.count ?? rows) == rows)
        self.format = format
        self.rows = rows
        self.cols = cols
        var scales = [Float](repeating: 0, count: rows * nb)
        var mins = [Float](repeating: 0, count: format == .q4_1 ? rows * nb : 0)
        var codes = [UInt32](repeating: 0, count: rows * nb * wpb)
        raw.withUnsafeBytes { src in scales.withUnsafeMutableBufferPointer { sc in mins.withUnsafeMutableBufferPointer { mn in
            codes.withUnsafeMutableBufferPointer { cw in
                for r in 0..<rows {
                    let sr = rowOrder?[r] ?? r
                    for b in 0..<nb {
                        let p = src.baseAddress! + (sr * nb + b) * blockBytes
                        func f16(_ o: Int) -> Float { HalfFloat.f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
                        // Little-endian word j of the quants: bytes 4j..<4j+4.
                        func quants(_ first: Int, _ j: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: first + 4 * j, as: UInt32.self)) }
                        let blk = r * nb + b
                        sc[blk] = f16(0)
                        let out = cw.baseAddress! + blk * wpb
                        if format == .q4_1 {
                            mn[blk] = f16(2)
                            // GGUF Q4_1: byte j holds weight j (low nibble) and weight j + 16 (high nibble), so
                            // weight 4k + i is the low nibble of byte 4k + i (k < 4) or the high nibble of
                            // byte 4(k − 4) + i.
                            for i in 0..<4 {
                                var w: UInt32 = 0
                                for k in 0..<4 {
                                    let byte = (quants(4, k) >> (8 * i)) & 0xFF
                                    w |= (byte & 0xF) << (4 * k) | (byte >> 4) << (4 * k + 16)
                                }
                                out[i] = w
                            }
                        } else {
                            // GGUF Q8_0: byte j is weight j's int8 q; q + 128 = q's byte XOR 0x80.
                            for g in 0..<2 {
                                for i in 0..<4 {
                                    var w: UInt32 = 0
                                    for k in 0..<4 { w |= ((quants(2, 4 * g + k) >> (8 * i)) & 0xFF ^ 0x80) << (8 * k) }
                                    out[4 * g + i] = w
                                }
                            }
                        }
                    }
                }
            }
        } } }
        self.scales = scales
        self.mins = mins
        self.codes = codes
    }

    /// The rows of `parts` one after another (same format and columns), so that one parallel product
    /// computes several projections of the same input (Q, K, V; gate, up).
    init(stacking parts: [QuantizedMatrix]) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.format == parts[0].format && $0.cols == parts[0].cols })
        format = parts[0].format
        cols = parts[0].cols
        rows = parts.reduce(0) { $0 + $1.rows }
        scales = parts.flatMap(\.scales)
        mins = parts.flatMap(\.mins)
        codes = parts.flatMap(\.codes)
    }

    /// The weight at (row, column), dequantized (d·q + m or d·q), for tests.
    func weight(_ r: Int, _ c: Int) -> Float {
        let nb = cols / 32, blk = r * nb + c / 32, e = c % 32
        if format == .q4_1 {
            let code = (codes[blk * 4 + e % 4] >> (4 * (e / 4))) & 0xF
            return scales[blk] * Float(code) + mins[blk]
        }
        let g = e / 16, k = (e % 16) / 4, i = e % 4
        let q = Int((codes[blk * 8 + 4 * g + i] >> (8 * k)) & 0xFF) - 128
        return scales[blk] * Float(q)
    }

    /// y = W·x for one row x (length cols); rows split over the cores.
    func multiply(_ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { yb in multiply(xb, into: yb) } }
        return y
    }

    /// Rows per parallel work item: small enough that the cores finish together (work items are
    /// claimed dynamically), large enough that claiming them costs nothing.
    static let rowsPerChunk = 16

    /// out[r] = W[r]·x for every row r.
    func multiply(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == cols && out.count >= rows && cols % 32 == 0)
        let nb = cols / 32, rows = rows, format = format
        // x pre-scaled by 2^-(field's bit offset) (exact; not the top field, which the kernel shifts
        // down), and Σx per block for the Q4_1 minimum and the Q8_0 offset.
        var xs = [Float](repeating: 0, count: cols)
        var xsum = [Float](repeating: 0, count: nb)
        for b in 0..<nb {
            var s: Float = 0
            for e in 0..<32 {
                let v = x[b * 32 + e]
                s += v
                let shift = format == .q4_1 ? (e / 4 < 7 ? 4 * (e / 4) : 0) : ((e % 16) / 4 < 3 ? 8 * ((e % 16) / 4) : 0)
                xs[b * 32 + e] = v * Float(sign: .plus, exponent: -shift, significand: 1)
            }
            xsum[b] = s
        }
        let chunk = Self.rowsPerChunk
        let chunks = (rows + chunk - 1) / chunk
        let o = SharedBuffer(out)
        codes.withUnsafeBufferPointer { cb in scales.withUnsafeBufferPointer { db in mins.withUnsafeBufferPointer { mb in
            xs.withUnsafeBufferPointer { xb in xsum.withUnsafeBufferPointer { sb in
                let p = KernelPointers(codes: cb.baseAddress!, scales: db.baseAddress!, mins: mb.baseAddress, x: xb.baseAddress!, xsum: sb.baseAddress!)
                let work: @Sendable (Int) -> Void = { c in
                    for r in (c * chunk)..<min(rows, (c + 1) * chunk) {
                        o[r] = format == .q4_1 ? Self.rowQ4_1(p, row: r, nb) : Self.rowQ8_0(p, row: r, nb)
                    }
                }
                if chunks == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) }
            } }
        } } }
    }

    struct KernelPointers: @unchecked Sendable {
        let codes: UnsafePointer<UInt32>, scales: UnsafePointer<Float>, mins: UnsafePointer<Float>?
        /// The pre-scaled x.
        let x: UnsafePointer<Float>, xsum: UnsafePointer<Float>
    }

    @inline(__always) static func load4(_ p: UnsafeRawPointer, _ i: Int) -> SIMD4<Float> {
        p.loadUnaligned(fromByteOffset: 16 * i, as: SIMD4<Float>.self)
    }

    @inline(__always) static func rowQ4_1(_ p: KernelPointers, row r: Int, _ nb: Int) -> Float {
        var acc = SIMD4<Float>()
        var mins: Float = 0
        let cr = UnsafeRawPointer(p.codes + r * nb * 4), d = p.scales + r * nb, mn = p.mins! + r * nb
        let x = UnsafeRawPointer(p.x)
        let m0 = SIMD4<Int32>(repeating: 0xF), m1 = SIMD4<Int32>(repeating: 0xF0), m2 = SIMD4<Int32>(repeating: 0xF00)
        let m3 = SIMD4<Int32>(repeating: 0xF000), m4 = SIMD4<Int32>(repeating: 0xF_0000), m5 = SIMD4<Int32>(repeating: 0xF0_0000)
        let m6 = SIMD4<Int32>(repeating: 0xF00_0000)
        for b in 0..<nb {
            let u = cr.loadUnaligned(fromByteOffset: 16 * b, as: SIMD4<UInt32>.self)
            let v = SIMD4<Int32>(truncatingIfNeeded: u)
            let xb = x + 128 * b
            var s = SIMD4<Float>(v & m0) * load4(xb, 0)
            s += SIMD4<Float>(v & m1) * load4(xb, 1)
            s += SIMD4<Float>(v & m2) * load4(xb, 2)
            s += SIMD4<Float>(v & m3) * load4(xb, 3)
            s += SIMD4<Float>(v & m4) * load4(xb, 4)
            s += SIMD4<Float>(v & m5) * load4(xb, 5)
            s += SIMD4<Float>(v & m6) * load4(xb, 6)
            s += SIMD4<Float>(SIMD4<Int32>(truncatingIfNeeded: u &>> 28)) * load4(xb, 7)
            acc += d[b] * s
            mins += mn[b] * p.xsum[b]
        }
        return acc.sum() + mins
    }

    @inline(__always) static func rowQ8_0(_ p: KernelPointers, row r: Int, _ nb: Int) -> Float {
        var acc = SIMD4<Float>()
        var offsets: Float = 0
        let cr = UnsafeRawPointer(p.codes + r * nb * 8), d = p.scales + r * nb
        let x = UnsafeRawPointer(p.x)
        let m0 = SIMD4<Int32>(repeating: 0xFF), m1 = SIMD4<Int32>(repeating: 0xFF00), m2 = SIMD4<Int32>(repeating: 0xFF_0000)
        for b in 0..<nb {
            let u0 = cr.loadUnaligned(fromByteOffset: 32 * b, as: SIMD4<UInt32>.self)
            let u1 = cr.loadUnaligned(fromByteOffset: 32 * b + 16, as: SIMD4<UInt32>.self)
            let v0 = SIMD4<Int32>(truncatingIfNeeded: u0), v1 = SIMD4<Int32>(truncatingIfNeeded: u1)
            let xb = x + 128 * b
            var s = SIMD4<Float>(v0 & m0) * load4(xb, 0)
            s += SIMD4<Float>(v0 & m1) * load4(xb, 1)
            s += SIMD4<Float>(v0 & m2) * load4(xb, 2)
            s += SIMD4<Float>(SIMD4<Int32>(truncatingIfNeeded: u0 &>> 24)) * load4(xb, 3)
            s += SIMD4<Float>(v1 & m0) * load4(xb, 4)
            s += SIMD4<Float>(v1 & m1) * load4(xb, 5)
            s += SIMD4<Float>(v1 & m2) * load4(xb, 6)
            s += SIMD4<Float>(SIMD4<Int32>(truncatingIfNeeded: u1 &>> 24)) * load4(xb, 7)
            acc += d[b] * s
            offsets += d[b] * p.xsum[b]
        }
        return acc.sum() - 128 * offsets
    }
}
