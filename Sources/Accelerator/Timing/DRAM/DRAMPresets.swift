/// DRAM device and system parameters: organization, timing (in DRAM clock cycles of `tCKns`) and the
/// IDD currents the energy model uses. Field names follow the JEDEC / DRAMsim3 names.
public struct DRAMSpec: Sendable, Equatable {
    // Organization.
    public var channels = 1
    public var ranks = 1
    public var bankGroups = 4
    public var banksPerGroup = 4
    public var rows = 65_536
    /// Columns per row, each `deviceWidthBits` wide (DRAMsim3's "physical column").
    public var columns = 1_024
    /// Data bus width of a channel, bits.
    public var busBits = 64
    /// Width of one DRAM device (chip); a rank has busBits / deviceWidthBits devices.
    public var deviceWidthBits = 8
    /// Burst length (data beats per column command).
    public var burstLength = 8
    /// Data-bus cycles one burst occupies (BL/2 for double data rate).
    public var burstCycles = 4

    // Timing, DRAM clock cycles.
    public var tCKns = 0.625
    public var tCL = 22, tCWL = 16
    public var tRCD = 22, tRP = 22, tRAS = 52
    public var tRRDS = 4, tRRDL = 8, tFAW = 34
    public var tCCDS = 4, tCCDL = 8
    public var tRTP = 12, tWR = 24, tWTRS = 4, tWTRL = 12, tRTRS = 1
    public var tRFC = 560, tREFI = 12_480

    // Power (Micron's DDR power-calculation method as DRAMsim3 applies it): volts and mA per device.
    public var vdd = 1.2
    public var idd0 = 57.0, idd2n = 37.0, idd3n = 52.0, idd4r = 168.0, idd4w = 150.0, idd5ab = 250.0

    public init() {}

    public var tRC: Int { tRAS + tRP }
    public var banks: Int { bankGroups * banksPerGroup }
    public var devicesPerRank: Int { max(1, busBits / deviceWidthBits) }
    /// Bytes one column command moves: bus width × burst length (DRAMsim3's request size).
    public var requestBytes: Int { busBits / 8 * burstLength }
    /// Bursts (requests) per row of a rank.
    public var burstsPerRow: Int { max(1, columns / burstLength) }
    public var rowBytes: Int { burstsPerRow * requestBytes }
    public var capacityBytes: Int { channels * ranks * banks * rows * rowBytes }
    /// Peak data bandwidth of all channels, bytes per DRAM clock.
    public var peakBytesPerCycle: Double { Double(channels * requestBytes) / Double(burstCycles) }

    // Energy per event, pJ (V × mA × ns = pJ), summed over the devices of a rank.
    /// ACT + PRE pair: VDD · (IDD0·tRC − (IDD3N·tRAS + IDD2N·tRP)) · tCK · devices.
    public var activatePJ: Double {
        vdd * (idd0 * Double(tRC) - (idd3n * Double(tRAS) + idd2n * Double(tRP))) * tCKns * Double(devicesPerRank)
    }
    /// One read burst: VDD · (IDD4R − IDD3N) · burst cycles · tCK · devices.
    public var readBurstPJ: Double { vdd * (idd4r - idd3n) * Double(burstCycles) * tCKns * Double(devicesPerRank) }
    public var writeBurstPJ: Double { vdd * (idd4w - idd3n) * Double(burstCycles) * tCKns * Double(devicesPerRank) }
    /// Background (active standby) power of one rank, mW = pJ/ns.
    public var backgroundMWPerRank: Double { vdd * idd3n * Double(devicesPerRank) }
    /// Background power of a rank with every bank precharged (precharge standby), mW.
    public var prechargeStandbyMWPerRank: Double { vdd * idd2n * Double(devicesPerRank) }
    /// Refresh power averaged over tREFI, per rank, mW.
    public var refreshMWPerRank: Double { vdd * (idd5ab - idd3n) * Double(tRFC) / Double(tREFI) * Double(devicesPerRank) }
    /// Fraction of time a rank is not refreshing: 1 − tRFC/tREFI.
    public var refreshAvailability: Double { tREFI > 0 ? max(0.05, 1 - Double(tRFC) / Double(tREFI)) : 1 }
}

/// Presets, each equal to a public simulator's configuration file (which takes the JEDEC datasheet
/// values):
/// - `ddr4-3200`: DRAMsim3 `configs/DDR4_8Gb_x8_3200.ini` (umd-memsys/DRAMsim3 @ 2981759): one
///   64-bit channel of x8 8 Gb devices, 2 ranks (16 GiB), 4 bank groups × 4 banks, 65,536 rows,
///   1,024 columns, BL8, tCK 0.63 ns; IDD values of the Micron 8 Gb x8 DDR4-3200 datasheet as shipped
///   in that file; mapping `rochrababgco`.
/// - `hbm2`: DRAMsim3 `configs/HBM2_8Gb_x128.ini`: 8 channels of 128 bits, 1 rank, 4 × 4 banks,
///   32,768 rows, 64 columns (×2 prefetch = 128 device columns), BL4, tCK 1 ns; mapping `rorabgbachco`. The file gives tRTP_L/tRTP_S, which
///   DRAMsim3 does not read: it uses its default tRTP = 5 (and tRTRS = 2), and so do we.
/// - `lpddr5`: Ramulator 2 (CMU-SAFARI/ramulator2 @ c5b1c3a) `python/ramulator/dram/lpddr5.py`,
///   LPDDR5_6400 timing on LPDDR5_8Gb_x16 organization (JESD209-5B values; CK = 800 MHz, BL16,
///   tRRD/tFAW/tRFC/tREFI resolved by its formulas). Neither simulator ships LPDDR5 currents: the IDD
///   values are DRAMsim3's `LPDDR4_8Gb_x16_2400.ini` ones (an approximation; not validated).
public enum DRAMPreset: String, Sendable, CaseIterable {
    case ddr4_3200 = "ddr4-3200"
    case hbm2
    case lpddr5

    public var spec: DRAMSpec {
        var s = DRAMSpec()
        switch self {
        case .ddr4_3200:
            s.channels = 1; s.ranks = 2; s.bankGroups = 4; s.banksPerGroup = 4; s.rows = 65_536; s.columns = 1_024
            s.busBits = 64; s.deviceWidthBits = 8; s.burstLength = 8; s.burstCycles = 4
            s.tCKns = 0.63; s.tCL = 22; s.tCWL = 16; s.tRCD = 22; s.tRP = 22; s.tRAS = 52
            s.tRRDS = 4; s.tRRDL = 8; s.tFAW = 34; s.tCCDS = 4; s.tCCDL = 8
            s.tRTP = 12; s.tWR = 24; s.tWTRS = 4; s.tWTRL = 12; s.tRTRS = 1; s.tRFC = 560; s.tREFI = 12_480
            s.vdd = 1.2; s.idd0 = 57; s.idd2n = 37; s.idd3n = 52; s.idd4r = 168; s.idd4w = 150; s.idd5ab = 250
        case .hbm2:
            s.channels = 8; s.ranks = 1; s.bankGroups = 4; s.banksPerGroup = 4; s.rows = 32_768; s.columns = 128
            s.busBits = 128; s.deviceWidthBits = 128; s.burstLength = 4; s.burstCycles = 2
            s.tCKns = 1.0; s.tCL = 14; s.tCWL = 4; s.tRCD = 14; s.tRP = 14; s.tRAS = 34
            s.tRRDS = 4; s.tRRDL = 6; s.tFAW = 30; s.tCCDS = 1; s.tCCDL = 2
            s.tRTP = 5; s.tWR = 16; s.tWTRS = 6; s.tWTRL = 8; s.tRTRS = 2; s.tRFC = 260; s.tREFI = 3_900
            s.vdd = 1.2; s.idd0 = 65; s.idd2n = 40; s.idd3n = 55; s.idd4r = 390; s.idd4w = 500; s.idd5ab = 250
        case .lpddr5:
            s.channels = 1; s.ranks = 1; s.bankGroups = 4; s.banksPerGroup = 4; s.rows = 32_768; s.columns = 1_024
            s.busBits = 16; s.deviceWidthBits = 16; s.burstLength = 16; s.burstCycles = 2
            s.tCKns = 1.25; s.tCL = 17; s.tCWL = 9; s.tRCD = 15; s.tRP = 15; s.tRAS = 34
            s.tRRDS = 4; s.tRRDL = 4; s.tFAW = 16; s.tCCDS = 2; s.tCCDL = 4
            s.tRTP = 8; s.tWR = 28; s.tWTRS = 5; s.tWTRL = 10; s.tRTRS = 2; s.tRFC = 168; s.tREFI = 3_125
            s.vdd = 1.2; s.idd0 = 80; s.idd2n = 34; s.idd3n = 47; s.idd4r = 243; s.idd4w = 228; s.idd5ab = 280
        }
        return s
    }

    /// The preset's address mapping, parsed.
    public var defaultMapping: AddressMapping {
        switch AddressMapping.parse(mapping, spec: spec) {
        case .success(let m): return m
        case .failure(let e): fatalError("preset \(rawValue): \(e.message)")   // presets are fixed data (tested)
        }
    }

    /// The preset's default address mapping (its source's).
    public var mapping: String {
        switch self {
        case .ddr4_3200: return "rochrababgco"
        case .hbm2: return "rorabgbachco"
        case .lpddr5: return "rochrababgco"
        }
    }
}
