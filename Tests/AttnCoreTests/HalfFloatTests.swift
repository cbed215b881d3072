import Testing
@testable import AttnCore

@Suite struct HalfFloatTests {
    // (binary16 bits, value): hand-computed from the IEEE 754 layout 1-5-10.
    @Test(arguments: [
        (UInt16(0x0000), Float(0)), (0x8000, -0.0), (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504),
        (0x0400, 0x1p-14), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24), (0x3555, 0.33325195),
        (0x7C00, .infinity), (0xFC00, -.infinity),
    ])
    func f16RoundTripsExactly(bits: UInt16, value: Float) {
        #expect(HalfFloat.f16ToFloat(bits) == value)
        #expect(HalfFloat.f16ToFloat(bits).sign == value.sign)
        #expect(HalfFloat.floatToF16(value) == bits)
    }

    @Test func f16RoundsToNearestEven() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
        #expect(HalfFloat.floatToF16(1 + 0x1p-11) == 0x3C00)
        // 1 + 3·2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even): goes up.
        #expect(HalfFloat.floatToF16(1 + 3 * 0x1p-11) == 0x3C02)
        #expect(HalfFloat.floatToF16(1 + 0x1p-11 + 0x1p-20) == 0x3C01)
        // Above the largest finite half, rounding reaches infinity at 65520.
        #expect(HalfFloat.floatToF16(65519) == 0x7BFF)
        #expect(HalfFloat.floatToF16(65520) == 0x7C00)
        // Subnormals: 2^-25 is halfway between 0 and the smallest subnormal: ties to even (0).
        #expect(HalfFloat.floatToF16(0x1p-25) == 0)
        #expect(HalfFloat.floatToF16(0x1p-25 * 1.5) == 1)
        #expect(HalfFloat.floatToF16(1e-10) == 0)
        // The largest subnormal rounds up into the smallest normal.
        #expect(HalfFloat.floatToF16(0x1p-14 - 0x1p-26) == 0x0400)
        #expect(HalfFloat.f16ToFloat(HalfFloat.floatToF16(.nan)).isNaN)
    }

    @Test func f16MatchesTheSwiftFloat16OnAllHalfValues() {
        for bits in UInt16.min...UInt16.max {
            let ours = HalfFloat.f16ToFloat(bits)
            let theirs = Float(Float16(bitPattern: bits))
            if theirs.isNaN { #expect(ours.isNaN); continue }
            #expect(ours == theirs)
            #expect(HalfFloat.floatToF16(ours) == bits)
        }
    }

    @Test func bf16() {
        #expect(HalfFloat.bf16ToFloat(0x3F80) == 1)
        #expect(HalfFloat.floatToBF16(1) == 0x3F80)
        #expect(HalfFloat.floatToBF16(-3.140625) == 0xC049)
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even.
        #expect(HalfFloat.floatToBF16(1 + 0x1p-8) == 0x3F80)
        #expect(HalfFloat.floatToBF16(1 + 3 * 0x1p-8) == 0x3F82)
        #expect(HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(.nan)).isNaN)
        #expect(HalfFloat.floatToBF16(.infinity) == 0x7F80)
    }

    @Test func randomFloatsNarrowLikeFloat16() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<100_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if f.isNaN { continue }
            #expect(HalfFloat.floatToF16(f) == Float16(f).bitPattern, "\(f)")
        }
    }
}

