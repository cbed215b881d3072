import AttnCore
import Foundation
import Testing
@testable import ReferenceModels

/// The repacked Q4_1/Q8_0 decode kernel (`QuantizedMatrix`) against the GGUF block format decoded
/// independently here, and against the GGUF reader's dequantized weights.
@Suite struct QuantizedMatrixTests {
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s = s &* 6364136223846793005 &+ 1442695040888963407; return s >> 33 }
        mutating func float() -> Float { Float(Int(next() % 2001) - 1000) / 1000 }
    }

    /// Random GGUF blocks (F16 scales in a realistic range, every code value possible; the first block
    /// holds the extreme codes 0/15 or −128/127) and the weights they encode, decoded from the
    /// format's definition: Q4_1 byte j = weight j (low nibble) | weight j + 16 (high nibble), x = d·q + m;
    /// Q8_0 x = d·q with q int8.
    static func randomBlocks(_ format: QuantizedMatrix.Format, rows: Int, cols: Int, seed: UInt64) -> (bytes: [UInt8], weights: [Float]) {
        var g = Rng(s: seed)
        let nb = cols / 32
        var bytes: [UInt8] = [], w = [Float](repeating: 0, count: rows * cols)
        func f16(_ x: Float) -> (UInt16, Float) { let h = HalfFloat.floatToF16(x); return (h, HalfFloat.f16ToFloat(h)) }
        for r in 0..<rows {
            for b in 0..<nb {
                let (dh, d) = f16(0.001 + 0.02 * abs(g.float()))
                bytes += [UInt8(dh & 0xFF), UInt8(dh >> 8)]
                if format == .q4_1 {
                    let (mh, m) = f16(-0.1 * abs(g.float()))
                    bytes += [UInt8(mh & 0xFF), UInt8(mh >> 8)]
                    for j in 0..<16 {
                        var lo = UInt8(g.next() % 16), hi = UInt8(g.next() % 16)
                        if r == 0 && b == 0 { lo = j % 2 == 0 ? 0 : 15; hi = j % 2 == 0 ? 15 : 0 }
                        bytes.append(lo | hi << 4)
                        w[r * cols + b * 32 + j] = d * Float(lo) + m
                        w[r * cols + b * 32 + j + 16] = d * Float(hi) + m
                    }
                } else {
                    for j in 0..<32 {
                        var q = Int8(truncatingIfNeeded: g.next())
                        if r == 0 && b == 0 { q = j % 2 == 0 ? -128 : 127 }
                        bytes.append(UInt8(bitPattern: q))
                        w[r * cols + b * 32 + j] = d * Float(q)
                    }
                }
            }
        }
        return (bytes, w)
    }

    /// Every weight survives the repacking exactly, and W·x equals the Double product of the decoded
    /// weights within Float summation error — for a row count that leaves a partial work chunk, with
    /// rows reordered, and stacked.
    @Test(arguments: [QuantizedMatrix.Format.q4_1, .q8_0])
    func multiplyEqualsDequantizedProduct(format: QuantizedMatrix.Format) {
        let rows = 37, cols = 96
        let (bytes, w) = Self.randomBlocks(format, rows: rows, cols: cols, seed: format == .q4_1 ? 7 : 8)
        let order = Array((0..<rows).reversed())
        let m = QuantizedMatrix(format: format, rows: rows, cols: cols, blocks: bytes)
        let reordered = QuantizedMatrix(format: format, rows: rows, cols: cols, blocks: bytes, rowOrder: order)
        let stacked = QuantizedMatrix(stacking: [m, reordered])
        #expect(rows % QuantizedMatrix.rowsPerChunk != 0 && stacked.rows == 2 * rows)
        var mismatches = 0
        for r in 0..<rows {
            for c in 0..<cols {
                if m.weight(r, c) != w[r * cols + c] { mismatches += 1 }
                if reordered.weight(r, c) != w[order[r] * cols + c] { mismatches += 1 }
                if stacked.weight(rows + r, c) != w[order[r] * cols + c] { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        var g = Rng(s: 99)
        // Activations with a wide range of magnitudes (the kernel pre-scales x by powers of two).
        let x = (0..<cols).map { i in g.float() * (i % 5 == 0 ? 40 : i % 7 == 0 ? 1e-4 : 1) }
        let y = stacked.multiply(x)
        var worst = 0.0
        for r in 0..<(2 * rows) {
            let src = r < rows ? r : order[r - rows]
            var ref = 0.0, mag = 0.0
            for c in 0..<cols { ref += Double(w[src * cols + c]) * Double(x[c]); mag += abs(Double(w[src * cols + c]) * Double(x[c])) }
            worst = max(worst, abs(Double(y[r]) - ref) / mag)
        }
        #expect(worst < 2e-6, "max |y − W·x| / Σ|w·x| = \(worst)")
    }

    /// The matrices the decoder builds from the GGUF (Q4_1 layers, Q8_0 tied embedding; Q and K rows
    /// un-permuted, Q/K/V stacked) hold exactly the weights of the Float path.
    @Test func decoderMatricesHoldTheGGUFWeights() throws {
        let model = try LlamaTests.model.get()
        let c = model.config
        let L = model.layers[3]
        let qkv = try #require(L.qkv), gateUp = try #require(L.gateUp)
        #expect(qkv.format == .q4_1 && qkv.rows == (c.heads + 2 * c.kvHeads) * c.headDim && gateUp.rows == 2 * c.ffn)
        var mismatches = 0
        let qRows = c.heads * c.headDim, kvRows = c.kvHeads * c.headDim
        for r in 0..<qkv.rows {
            for col in 0..<c.hidden {
                let ref = r < qRows ? L.wq[r * c.hidden + col]
                    : r < qRows + kvRows ? L.wk[(r - qRows) * c.hidden + col] : L.wv[(r - qRows - kvRows) * c.hidden + col]
                if qkv.weight(r, col) != ref { mismatches += 1 }
            }
        }
        for r in stride(from: 0, to: gateUp.rows, by: 7) {
            for col in 0..<c.hidden {
                let ref = r < c.ffn ? L.gate[r * c.hidden + col] : L.up[(r - c.ffn) * c.hidden + col]
                if gateUp.weight(r, col) != ref { mismatches += 1 }
            }
        }
        let out = try #require(model.quantizedOutput)
        #expect(out.format == .q8_0 && out.rows == c.vocab)
        for r in stride(from: 0, to: c.vocab, by: 97) {
            for col in 0..<c.hidden where out.weight(r, col) != model.output[r * c.hidden + col] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
