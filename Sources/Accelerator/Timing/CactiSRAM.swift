import Foundation

/// SRAM per-access energy and area from CACTI 7 (HewlettPackard/cacti), 45 nm, a 64-bit-wide
/// single-ported one-bank scratchpad ("ram", itrs-hp cells and periphery, no ECC, 350 K), for the
/// buffer sizes AttnSim uses: the `cacti45` SRAM model (`hardware.energy.sram_model`).
///
/// The rows are the 45 nm, 64-bit rows of Tests/Fixtures/cacti/sram.csv, made by
/// Scripts/cacti_golden.sh; a test keeps them equal. Between sizes, energy per byte and area are
/// interpolated linearly in log(size)–log(value); outside 2 KiB … 2 MiB the end segment's slope is
/// extended. Energy per byte is the mean of a read and a write of 8 bytes, divided by 8 (the timing
/// model counts buffer bytes, reads and writes together).
public enum CactiSRAM45 {
    public typealias Row = (kib: Double, readPJ: Double, writePJ: Double, areaMM2: Double)

    /// (size KiB, read pJ per 64-bit access, write pJ per 64-bit access, area mm²)
    public static let table: [Row] = [
        (2, 2.35132, 3.51593, 0.00754823),
        (4, 2.92412, 5.34521, 0.0135227),
        (8, 5.28833, 6.50229, 0.0262912),
        (16, 9.99426, 8.79399, 0.0507533),
        (32, 14.9248, 12.6898, 0.0949153),
        (64, 28.9844, 17.1907, 0.183662),
        (128, 32.9568, 21.1631, 0.387428),
        (256, 40.6252, 28.8314, 0.796255),
        (512, 52.0225, 40.2287, 1.57613),
        (1024, 67.6875, 55.8938, 3.16952),
        (2048, 90.0212, 78.2275, 6.24279),
    ]

    /// Bytes per access of the table's macros.
    public static let accessBytes = 8.0

    /// Energy per byte of a buffer of `kib` KiB, pJ.
    public static func pjPerByte(kib: Double) -> Double {
        interpolate(kib) { ($0.readPJ + $0.writePJ) / 2 / accessBytes }
    }

    /// Area of a buffer of `kib` KiB, mm² (0 for an absent buffer).
    public static func areaMM2(kib: Double) -> Double {
        kib > 0 ? interpolate(kib) { $0.areaMM2 } : 0
    }

    static func interpolate(_ kib: Double, _ value: (Row) -> Double) -> Double {
        let x = log(max(kib, 1e-6))
        var i = 0
        while i < table.count - 2 && x > log(table[i + 1].kib) { i += 1 }
        let x0 = log(table[i].kib), x1 = log(table[i + 1].kib)
        let y0 = log(value(table[i])), y1 = log(value(table[i + 1]))
        return exp(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    }
}
