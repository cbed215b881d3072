import Foundation
import Testing
@testable import AttnCore

/// HalfFloat against independent references: hand-computed bit patterns, numpy `astype(float16)` and
/// torch `.to(bfloat16)` (Tests/Fixtures/io/rounding.safetensors, Scripts/make_io_fixtures.py).
@Suite struct Float16ReferenceTests {
    /// binary16: bias 15, 10 mantissa bits; smallest subnormal 2⁻²⁴, smallest normal 2⁻¹⁴, largest 65504.
    @Test(arguments: [
        (Float(1.0), UInt16(0x3C00)), (-2.0, 0xC000), (0.0, 0x0000), (-0.0, 0x8000),
        (65504.0, 0x7BFF), (65519.996, 0x7BFF),
        (65520.0, 0x7C00),                       // tie between 65504 and 2^16 → even = inf
        (0x1p-14, 0x0400), (0x1p-24, 0x0001),
        (0x1p-25, 0x0000),                       // tie between 0 and 2^-24 → even = 0
        (0x1.8p-25, 0x0001), (0x3p-25, 0x0002),  // 1.5·2^-24: tie between 1 and 2 → even = 2
        (0x1.ff8p-15, 0x03FF),                   // largest subnormal, exact
        (0x1.ffcp-15, 0x0400),                   // tie above it → even: rounds out of the subnormals
        (1.0 + 0x1p-11, 0x3C00), (1.0 + 0x3p-11, 0x3C02),
        (1.0 / 3.0, 0x3555), (.infinity, 0x7C00), (-.infinity, 0xFC00), (1e10, 0x7C00), (1e-10, 0x0000),
    ] as [(Float, UInt16)])
    func narrowsToF16(value: Float, bits: UInt16) {
        #expect(HalfFloat.floatToF16(value) == bits, "\(value)")
    }

    @Test(arguments: [
        (Float(1.0), UInt16(0x3F80)), (-2.0, 0xC000), (-0.0, 0x8000),
        (Float(bitPattern: 0x3F80_8000), 0x3F80),  // 1 + 2^-8: tie → even (down)
        (Float(bitPattern: 0x3F81_8000), 0x3F82),  // 1 + 3·2^-8: tie → even (up)
        (Float(bitPattern: 0x3F80_8001), 0x3F81),  // just above the tie
        (Float(bitPattern: 0x7F7F_FFFF), 0x7F80),  // greatestFiniteMagnitude rounds to inf
        (Float(bitPattern: 0x0000_0001), 0x0000), (.infinity, 0x7F80),
    ] as [(Float, UInt16)])
    func narrowsToBF16(value: Float, bits: UInt16) {
        #expect(HalfFloat.floatToBF16(value) == bits, "\(value)")
    }

    @Test func signallingNaNStaysNaN() {
        let nan = Float(bitPattern: 0x7F80_0001)  // payload only in bits that narrowing drops
        #expect(HalfFloat.f16ToFloat(HalfFloat.floatToF16(nan)).isNaN)
        #expect(HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(nan)).isNaN)
        #expect(HalfFloat.floatToF16(-Float.nan) & 0x8000 == 0x8000)
    }

    @Test func matchesNumpyAndTorchRounding() throws {
        let file = try SafetensorsFile(path: Fixtures.path("io/rounding.safetensors"))
        let input = try file.floats("input")
        let f16 = try file.withBytes("f16") { Array($0.bindMemory(to: UInt16.self)) }
        let bf16 = try file.withBytes("bf16") { Array($0.bindMemory(to: UInt16.self)) }
        #expect(input.count > 300 && f16.count == input.count && bf16.count == input.count)
        var mismatches: [String] = []
        for (i, x) in input.enumerated() {
            if x.isNaN {
                if !HalfFloat.f16ToFloat(HalfFloat.floatToF16(x)).isNaN || !HalfFloat.f16ToFloat(f16[i]).isNaN { mismatches.append("f16 NaN \(i)") }
                if !HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(x)).isNaN || !HalfFloat.bf16ToFloat(bf16[i]).isNaN { mismatches.append("bf16 NaN \(i)") }
                continue
            }
            if HalfFloat.floatToF16(x) != f16[i] { mismatches.append("f16 \(x): \(HalfFloat.floatToF16(x)) vs numpy \(f16[i])") }
            if HalfFloat.floatToBF16(x) != bf16[i] { mismatches.append("bf16 \(x): \(HalfFloat.floatToBF16(x)) vs torch \(bf16[i])") }
            // widening the reference bits gives back a value that narrows to the same bits
            if HalfFloat.floatToF16(HalfFloat.f16ToFloat(f16[i])) != f16[i] { mismatches.append("f16 widen \(f16[i])") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func bulkMatchesScalar() {
        let xs: [Float] = [0, 1, -1.5, 65520, 0x1p-25, .infinity, 3.14159, -1e-3]
        #expect(HalfFloat.floatToF16(xs) == xs.map { HalfFloat.floatToF16($0) })
        #expect(HalfFloat.floatToBF16(xs) == xs.map { HalfFloat.floatToBF16($0) })
        let h = HalfFloat.floatToF16(xs)
        #expect(HalfFloat.f16ToFloat(h) == h.map { HalfFloat.f16ToFloat($0) })
        let b = HalfFloat.floatToBF16(xs)
        #expect(HalfFloat.bf16ToFloat(b) == b.map { HalfFloat.bf16ToFloat($0) })
        #expect(HalfFloat.f16ToFloat([UInt16]()) == [])
    }
}
