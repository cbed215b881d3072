/// Bit-exact conversions between 32-bit `Float` and the two 16-bit formats found in checkpoints and
/// traces, done on bit patterns so they behave the same on every platform:
///
/// - IEEE 754 binary16 ("F16"): 1 sign, 5 exponent (bias 15), 10 mantissa bits. Subnormals are
///   `m · 2⁻²⁴`; exponent 31 is inf (m = 0) or NaN.
/// - bfloat16 ("BF16"): the upper 16 bits of a binary32 (1 sign, 8 exponent, 7 mantissa bits).
///
/// Narrowing rounds to nearest, ties to even (IEEE 754 §4.3.1), overflows to ±inf, underflows through
/// the subnormals to ±0, and keeps NaNs NaN (quieted, top payload bits kept). Widening is exact.
public enum HalfFloat {
    // MARK: F16

    /// binary16 bits → Float (exact: every binary16 value is a binary32 value).
    @inlinable
    public static func f16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            // ±0 or subnormal m·2⁻²⁴; m < 2^10 so the product is exact.
            let magnitude = Float(mant) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        if exp == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))  // inf, or NaN keeping its payload
        }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))  // rebias 15 → 127
    }

    /// Float → binary16 bits, round to nearest even.
    @inlinable
    public static func floatToF16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        let mant = x & 0x7F_FFFF
        if exp == 0xFF {
            if mant == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mant >> 13)  // quiet NaN
        }
        let e = exp - 112  // binary16 biased exponent
        if e >= 0x1F { return sign | 0x7C00 }  // ≥ 2^16: overflow to inf
        if e <= 0 {
            // Subnormal result (or zero): value = m · 2^(exp−150) with the implicit bit; unit 2⁻²⁴.
            let shift = 14 - e  // 14 … (for float subnormals exp = 0 → huge, handled below)
            if shift > 24 { return sign }  // < 2⁻²⁵: rounds to ±0 (2⁻²⁵ itself is a tie → even = 0)
            let m = mant | 0x80_0000
            var half = m >> UInt32(shift)
            let rem = m & ((1 << UInt32(shift)) - 1)
            let halfway = UInt32(1) << UInt32(shift - 1)
            if rem > halfway || (rem == halfway && (half & 1) == 1) { half += 1 }
            return sign | UInt16(truncatingIfNeeded: half)  // may carry into the smallest normal: correct
        }
        var half = (UInt32(e) << 10) | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1) { half += 1 }  // carry may reach inf: correct
        return sign | UInt16(truncatingIfNeeded: half)
    }

    // MARK: BF16

    /// bfloat16 bits → Float (exact).
    @inlinable
    public static func bf16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Float → bfloat16 bits, round to nearest even; NaN stays NaN (quiet bit set).
    @inlinable
    public static func floatToBF16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        if (x & 0x7F80_0000) == 0x7F80_0000 && (x & 0x7F_FFFF) != 0 {
            return UInt16(truncatingIfNeeded: x >> 16) | 0x0040
        }
        let rounded = x &+ 0x7FFF &+ ((x >> 16) & 1)  // overflow of the exponent gives inf: correct
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    // MARK: Bulk conversions (dst.count must be ≥ src.count; extra dst elements are untouched)

    @inlinable
    public static func f16ToFloat(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count, "HalfFloat: destination too small")
        for i in 0..<src.count { dst[i] = f16ToFloat(src[i]) }
    }

    @inlinable
    public static func floatToF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<UInt16>) {
        precondition(dst.count >= src.count, "HalfFloat: destination too small")
        for i in 0..<src.count { dst[i] = floatToF16(src[i]) }
    }

    @inlinable
    public static func bf16ToFloat(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count, "HalfFloat: destination too small")
        for i in 0..<src.count { dst[i] = bf16ToFloat(src[i]) }
    }

    @inlinable
    public static func floatToBF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<UInt16>) {
        precondition(dst.count >= src.count, "HalfFloat: destination too small")
        for i in 0..<src.count { dst[i] = floatToBF16(src[i]) }
    }

    public static func f16ToFloat(_ src: [UInt16]) -> [Float] {
        [Float](unsafeUninitializedCapacity: src.count) { dst, n in
            src.withUnsafeBufferPointer { f16ToFloat($0, into: dst) }
            n = src.count
        }
    }

    public static func floatToF16(_ src: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: src.count) { dst, n in
            src.withUnsafeBufferPointer { floatToF16($0, into: dst) }
            n = src.count
        }
    }

    public static func bf16ToFloat(_ src: [UInt16]) -> [Float] {
        [Float](unsafeUninitializedCapacity: src.count) { dst, n in
            src.withUnsafeBufferPointer { bf16ToFloat($0, into: dst) }
            n = src.count
        }
    }

    public static func floatToBF16(_ src: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: src.count) { dst, n in
            src.withUnsafeBufferPointer { floatToBF16($0, into: dst) }
            n = src.count
        }
    }
}
