import Foundation
import Testing
@testable import AttnCore

@Suite struct Float16ConversionTests {
    /// Hand-computed binary16 patterns (IEEE 754 binary16: bias 15, 10 mantissa bits).
    @Test(arguments: [
        (Float(1.0), UInt16(0x3C00)), (-2.0, 0xC000), (0.0, 0x0000), (-0.0, 0x8000),
        (65504.0, 0x7BFF),                       // largest finite
        (65519.996, 0x7BFF), (65520.0, 0x7C00),  // 65520 is the tie between 65504 and 2^16 → even = inf
        (0x1p-14, 0x0400),                       // smallest normal
        (0x1p-24, 0x0001),                       // smallest subnormal
        (0x1p-25, 0x0000),                       // tie between 0 and 2^-24 → even = 0
        (0x1.8p-25, 0x0001),                     // above the tie
        (0x3p-25, 0x0002),                       // 1.5·2^-24: tie between 1 and 2 → even = 2
        (0x1.ff8p-15, 0x03FF),                   // largest subnormal, exact
        (0x1.ffcp-15, 0x0400),                   // tie above it → even: rounds out of the subnormals
        (1.0 + 0x1p-11, 0x3C00),                 // tie → even
        (1.0 + 0x3p-11, 0x3C02),                 // tie → even (up)
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
        (Float(bitPattern: 0x7F7F_FFFF), 0x7F80),  // Float.greatestFiniteMagnitude rounds to inf
        (Float(bitPattern: 0x0000_0001), 0x0000),  // smallest float subnormal → 0
        (.infinity, 0x7F80),
    ] as [(Float, UInt16)])
    func narrowsToBF16(value: Float, bits: UInt16) {
        #expect(HalfFloat.floatToBF16(value) == bits, "\(value)")
    }

    @Test func nanStaysNaN() {
        let nan = Float(bitPattern: 0x7F80_0001)  // signalling NaN with a payload only in the low bits
        #expect(HalfFloat.f16ToFloat(HalfFloat.floatToF16(nan)).isNaN)
        #expect(HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(nan)).isNaN)
        #expect(HalfFloat.f16ToFloat(0x7E00).isNaN)
        #expect(HalfFloat.f16ToFloat(0xFC01).isNaN)
        #expect(HalfFloat.floatToF16(-.nan) & 0x8000 == 0x8000)
    }

    @Test func widensF16() {
        #expect(HalfFloat.f16ToFloat(0x0001) == 0x1p-24)
        #expect(HalfFloat.f16ToFloat(0x03FF) == 0x1.ff8p-15)
        #expect(HalfFloat.f16ToFloat(0x7BFF) == 65504)
        #expect(HalfFloat.f16ToFloat(0xFC00) == -.infinity)
        #expect(HalfFloat.f16ToFloat(0x8000).bitPattern == 0x8000_0000)
        #expect(HalfFloat.bf16ToFloat(0x4049) == Float(bitPattern: 0x4049_0000))
    }

    /// Against numpy `astype(float16)` and torch `.to(bfloat16)` (Tests/Fixtures/io/rounding.safetensors).
    @Test func matchesNumpyAndTorchRounding() throws {
        let file = try SafetensorsFile(path: IOTestSupport.fixture("rounding.safetensors"))
        let input = try file.floats("input")
        let f16 = try file.rawBytes("f16").withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        let bf16 = try file.rawBytes("bf16").withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
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
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// Every binary16 pattern widens exactly as Swift's own Float16 does.
    @Test func widensAllF16PatternsLikeSwiftFloat16() {
        var bad = 0
        for h in 0...UInt16.max {
            let ours = HalfFloat.f16ToFloat(h)
            let swift = Float(Float16(bitPattern: h))
            if ours.isNaN ? !swift.isNaN : ours.bitPattern != swift.bitPattern { bad += 1 }
            // and narrowing back is the identity (NaNs stay NaN)
            let back = HalfFloat.floatToF16(ours)
            if ours.isNaN ? (back & 0x7C00 != 0x7C00 || back & 0x3FF == 0) : back != h { bad += 1 }
        }
        #expect(bad == 0)
    }

    /// Seeded random float patterns narrow like Swift's Float16(Float) (IEEE round to nearest even).
    @Test func narrowsRandomPatternsLikeSwiftFloat16() {
        var rng = SplitMix64(seed: 42)
        var bad = 0
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if x.isNaN { continue }
            if HalfFloat.floatToF16(x) != Float16(x).bitPattern { bad += 1 }
        }
        #expect(bad == 0)
    }

    @Test func bulkMatchesScalar() {
        let xs: [Float] = [0, 1, -1.5, 65520, 0x1p-25, .infinity, 3.14159, -1e-3]
        #expect(HalfFloat.floatToF16(xs) == xs.map { HalfFloat.floatToF16($0) })
        #expect(HalfFloat.floatToBF16(xs) == xs.map { HalfFloat.floatToBF16($0) })
        let h = HalfFloat.floatToF16(xs)
        #expect(HalfFloat.f16ToFloat(h) == h.map { HalfFloat.f16ToFloat($0) })
        let b = HalfFloat.floatToBF16(xs)
        #expect(HalfFloat.bf16ToFloat(b) == b.map { HalfFloat.bf16ToFloat($0) })
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator for reproducible test inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
