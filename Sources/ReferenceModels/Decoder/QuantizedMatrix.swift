import AttnCore
import Dispatch

/// A weight matrix kept in its GGUF block format (Q4_1 or Q8_0) for single-row products: a decode
/// step reads 0.6–1.1 bytes per weight instead of 4. y[r] = Σ_b d_b·Σ_j q_bj·x_bj (+ m_b·Σ_j x_bj for
/// Q4_1), the same values as multiplying by the dequantized matrix, summed in another order.
struct QuantizedMatrix: @unchecked Sendable {
    enum Format { case q4_1, q8_0 }
    let format: Format
    let rows: Int
    let cols: Int
    let bytes: [UInt8]

    var blockBytes: Int { format == .q4_1 ? 20 : 34 }
    var rowBytes: Int { cols / 32 * blockBytes }

    /// The tensor's raw blocks when its type has a fast kernel, with rows reordered by `rowOrder`
    /// (destination row i takes source row rowOrder[i]); nil otherwise.
    init?(_ f: GGUFFile, _ name: String, rowOrder: [Int]? = nil) throws(AttnError) {
        let t = try f.tensor(name)
        switch t.type {
        case .q4_1: format = .q4_1
        case .q8_0: format = .q8_0
        default: return nil
        }
        rows = t.rows
        cols = t.rowLength
        let raw = try f.rawBytes(name)
        let rb = cols / 32 * (format == .q4_1 ? 20 : 34)
        if let order = rowOrder {
            var b = [UInt8](repeating: 0, count: raw.count)
            for (i, src) in order.enumerated() { b[(i * rb)..<((i + 1) * rb)] = raw[(src * rb)..<((src + 1) * rb)] }
            bytes = b
        } else {
            bytes = raw
        }
    }

    /// y = W·x for one row x (length cols); rows split over the cores.
    func multiply(_ x: [Float]) -> [Float] {
        precondition(x.count == cols)
        let nb = cols / 32
        // Σx per block, for the Q4_1 minimum.
        var xsum = [Float](repeating: 0, count: nb)
        for b in 0..<nb { var s: Float = 0; for j in 0..<32 { s += x[b * 32 + j] }; xsum[b] = s }
        var y = [Float](repeating: 0, count: rows)
        let chunk = 64
        let chunks = (rows + chunk - 1) / chunk
        y.withUnsafeMutableBufferPointer { yb in
            let out = SharedBuffer(yb)
            bytes.withUnsafeBytes { wb in
                x.withUnsafeBufferPointer { xb in
                    xsum.withUnsafeBufferPointer { sb in
                        let w = UnsafeRawPointerBox(wb.baseAddress!), xp = FloatPointerBox(xb.baseAddress!), sp = FloatPointerBox(sb.baseAddress!)
                        DispatchQueue.concurrentPerform(iterations: chunks) { c in
                            for r in (c * chunk)..<min(rows, (c + 1) * chunk) {
                                out[r] = format == .q4_1 ? rowQ4_1(w.p + r * rowBytes, xp.p, sp.p, nb) : rowQ8_0(w.p + r * rowBytes, xp.p, nb)
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    @inline(__always) func rowQ4_1(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>, _ nb: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var mins: Float = 0
        let mask = SIMD16<UInt8>(repeating: 0x0F)
        for b in 0..<nb {
            let o = b * 20
            let d = HalfFloat.f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            let m = HalfFloat.f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o + 2, as: UInt16.self)))
            let q = p.loadUnaligned(fromByteOffset: o + 4, as: SIMD16<UInt8>.self)
            let lo = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q & mask))
            let hi = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q &>> 4))
            let xr = UnsafeRawPointer(x + b * 32)
            let x0 = xr.loadUnaligned(as: SIMD16<Float>.self)
            let x1 = xr.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            acc += d * (lo * x0 + hi * x1)
            mins += m * xsum[b]
        }
        return acc.sum() + mins
    }

    @inline(__always) func rowQ8_0(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ nb: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        for b in 0..<nb {
            let o = b * 34
            let d = HalfFloat.f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            let q0 = p.loadUnaligned(fromByteOffset: o + 2, as: SIMD16<Int8>.self)
            let q1 = p.loadUnaligned(fromByteOffset: o + 18, as: SIMD16<Int8>.self)
            let xr = UnsafeRawPointer(x + b * 32)
            let x0 = xr.loadUnaligned(as: SIMD16<Float>.self)
            let x1 = xr.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            acc += d * (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q0)) * x0 + SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q1)) * x1)
        }
        return acc.sum()
    }
}

struct UnsafeRawPointerBox: @unchecked Sendable { let p: UnsafeRawPointer; init(_ p: UnsafeRawPointer) { self.p = p } }
struct FloatPointerBox: @unchecked Sendable { let p: UnsafePointer<Float>; init(_ p: UnsafePointer<Float>) { self.p = p } }
