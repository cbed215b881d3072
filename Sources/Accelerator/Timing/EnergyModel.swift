import Foundation

/// Energy per operation and a rough area per unit, 45 nm, 0.9 V.
///
/// Sources: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014:
/// 8-bit integer add 0.03 pJ, multiply 0.2 pJ; 32-bit add 0.1 pJ, multiply 3.1 pJ; SRAM read of 64 bits
/// 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB); DRAM 1.3–2.6 nJ per 64 bits; areas 8-bit add 36 µm²,
/// 8-bit multiply 282 µm², 32-bit add 137 µm², 32-bit multiply 3495 µm².
///
/// Scaling rules (ours, documented in docs/model.md): a multiplier's energy and area grow with the
/// product of its operand widths (8×8 → 0.2 pJ, so 32×32 → 3.2 pJ, close to Horowitz's 3.1); an
/// adder's linearly with its width (8 → 0.03 pJ, 32 → 0.12 pJ); SRAM energy per byte grows with
/// the square root of the buffer size (1.25 pJ/B at 8 KiB → 2.5 at 32 KiB, 14 at 1 MiB; Horowitz:
/// 2.5 and 12.5); a comparator costs an adder of its width; a barrel shift plus add costs 1.5 adders
/// of the accumulator width. DRAM defaults to the low end of Horowitz's range, 1.3 nJ / 8 B.
public struct EnergyTable: Sendable, Equatable {
    /// Where the on-chip buffers' energy per byte and area come from.
    public enum SRAMModel: String, Sendable, CaseIterable {
        /// `sramPJPerByteAt8KiB` × √(KiB / 8) and 0.7 µm² per bit (Horowitz's figures, our scaling).
        case horowitz
        /// CACTI 7 at 45 nm, 64-bit macros, interpolated over size (`CactiSRAM45`).
        case cacti45
    }

    public var sramModel = SRAMModel.horowitz
    public var mult8PJ = 0.2
    public var add8PJ = 0.03
    public var sramPJPerByteAt8KiB = 1.25
    public var dramPJPerByte = 162.5
    /// One read of the exponent LUT (a few hundred 16-bit entries).
    public var lutReadPJ = 0.6
    /// Static power per mm² (0: dynamic energy only).
    public var leakageMWPerMM2 = 0.0

    public init() {}

    public func multiplyPJ(_ aBits: Int, _ bBits: Int) -> Double { mult8PJ * Double(aBits * bBits) / 64 }
    public func addPJ(_ bits: Int) -> Double { add8PJ * Double(bits) / 8 }
    public func macPJ(_ aBits: Int, _ bBits: Int, accBits: Int) -> Double { multiplyPJ(aBits, bBits) + addPJ(accBits) }
    public func comparePJ(_ bits: Int) -> Double { addPJ(bits) }
    public func shiftAddPJ(accBits: Int) -> Double { 1.5 * addPJ(accBits) }
    public func sramPJPerByte(kib: Double) -> Double {
        switch sramModel {
        case .horowitz: return sramPJPerByteAt8KiB * (max(kib, 0.125) / 8).squareRoot()
        case .cacti45: return CactiSRAM45.pjPerByte(kib: kib)
        }
    }

    /// Area of the on-chip buffers of these sizes, mm².
    public func sramBuffersAreaMM2(kib: [Double]) -> Double {
        switch sramModel {
        case .horowitz: return Self.sramAreaUM2(kib: kib.reduce(0, +)) * 1e-6
        case .cacti45: return kib.map(CactiSRAM45.areaMM2).reduce(0, +)
        }
    }

    // Area, µm² (45 nm).
    public static func multiplierAreaUM2(_ a: Int, _ b: Int) -> Double { 282 * Double(a * b) / 64 }
    public static func adderAreaUM2(_ bits: Int) -> Double { 36 * Double(bits) / 8 }
    /// SRAM macro area: ~0.7 µm² per bit including periphery (a rough 45 nm figure).
    public static func sramAreaUM2(kib: Double) -> Double { kib * 8192 * 0.7 }
}
