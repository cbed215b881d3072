/// IEEE 754 binary16 (F16) and bfloat16 (BF16) conversions, bit-exact, independent of the platform's
/// `Float16` support. Narrowing rounds to nearest, ties to even; NaN stays NaN (quiet), ±inf and
/// subnormals are handled.
public enum HalfFloat {
    /// binary16 bits → Float (exact: every binary16 value is a Float).
    @inlinable public static func f16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            // Subnormal: mant × 2^-24.
            let v = Float(mant) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exp == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
        }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }

    /// Float → binary16 bits, round to nearest even; overflow to ±inf.
    @inlinable public static func floatToF16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        let mant = x & 0x7F_FFFF
        if exp == 0xFF {
            return sign | 0x7C00 | (mant != 0 ? 0x200 | UInt16(mant >> 13) : 0)
        }
        let e = exp - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal or zero in binary16: value = m × 2^-24 with m = round(|f| × 2^24).
            if e < -10 { return sign }
            let full = mant | 0x80_0000           // 24-bit significand
            let shift = UInt32(14 - e)             // bits to drop
            var m = full >> shift
            let rem = full & ((1 << shift) - 1)
            let half = UInt32(1) << (shift - 1)
            if rem > half || (rem == half && (m & 1) == 1) { m += 1 }
            return sign | UInt16(m)                // m may carry into the exponent: still correct
        }
        var h = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }  // carry may round up to inf: correct
        return sign | UInt16(h)
    }

    /// bfloat16 bits → Float (exact).
    @inlinable public static func bf16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Float → bfloat16 bits, round to nearest even; NaN stays a quiet NaN.
    @inlinable public static func floatToBF16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(x >> 16) | 0x40 }
        let rounding = UInt32(0x7FFF) + ((x >> 16) & 1)
        return UInt16((x &+ rounding) >> 16)
    }

    // MARK: Bulk conversions (dst.count must be ≥ src.count; extra dst elements are untouched)

    @inlinable public static func f16ToFloat(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count, "HalfFloat: destination too small")
        for i in 0..<src.count { dst[i] = f16ToFloat(src[i]) }
    }

    @inlinable public static func floatToF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<UInt16>) {
        precondition(dst.count >= src.count, "HalfFloat: destination too small")
        for i in 0..<src.count { dst[i] = floatToF16(src[i]) }
    }

    @inlinable public static func bf16ToFloat(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count, "HalfFloat: destination too small")
        for i in 0..<src.count { dst[i] = bf16ToFloat(src[i]) }
    }

    @inlinable public static func floatToBF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<UInt16>) {
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
