import AttnCore

/// The `hardware.dram:` section: which DRAM model prices the traffic.
///
/// - `model: simple` (default): `MemorySystem`'s bandwidth model (a burst costs burst / bandwidth
///   cycles, `energy.dram_pj_per_byte` per byte). With it this section adds nothing to the config id.
/// - `model: banked`: `DRAMModel` — channels, ranks, bank groups, banks, rows; the address mapping;
///   open/closed page; tRCD, tCL, tRP, tRAS, tRRD, tFAW, tCCD, refresh; energy per activate, burst
///   and background from IDD currents. Starts from `preset`, every field overridable.
public struct DRAMConfig: Sendable, Equatable {
    public enum Model: String, Sendable, CaseIterable { case simple, banked }
    /// `fast`: one continuous closed-form schedule, read per tile (`DRAMModel`); `detailed`: command scheduler
    /// (`DRAMCommandScheduler`), for checking.
    public enum Mode: String, Sendable, CaseIterable { case fast, detailed }
    public enum PagePolicy: String, Sendable, CaseIterable { case open, closed }
    /// Layout of the KV cache: `per_head` — [layer][kv head][K rows…][V rows…]; `interleaved` —
    /// [layer][kv head][token][K row, V row].
    public enum Layout: String, Sendable, CaseIterable { case perHead = "per_head", interleaved }

    public var model: Model = .simple
    public var mode: Mode = .fast
    public var preset: DRAMPreset = .ddr4_3200
    public var spec: DRAMSpec = DRAMPreset.ddr4_3200.spec
    /// The address mapping, parsed once (parse it with `AddressMapping.parse` for a changed spec).
    public var mapping: AddressMapping = DRAMPreset.ddr4_3200.defaultMapping
    public var pagePolicy: PagePolicy = .open
    public var layout: Layout = .perHead
    /// Tokens reserved per (layer, KV head) in the KV-cache layout (a longer sequence uses its length).
    public var kvTokens = 4_096
    /// Requests the controller looks ahead over per channel (DRAMsim3's transaction queue).
    public var queueDepth = 32

    public init() {}

    /// A banked config from a preset (mapping and spec of the preset).
    public static func banked(_ preset: DRAMPreset, pagePolicy: PagePolicy = .open, mode: Mode = .fast) -> DRAMConfig {
        var c = DRAMConfig()
        c.model = .banked
        c.preset = preset
        c.spec = preset.spec
        c.mapping = preset.defaultMapping
        c.pagePolicy = pagePolicy
        c.mode = mode
        return c
    }
}

extension DRAMConfig: ConfigSection {
    /// Decodes `hardware.dram`; rejects impossible timings, zero or non-power-of-two counts and a
    /// mapping that does not cover the address bits, naming the key.
    public init(from r: ConfigReader) throws(AttnError) {
        self = try ConfigSchema.decode(from: r)
    }

    /// The normalized section for config ids: nil for the simple model (adds nothing, so configs
    /// without `hardware.dram` keep their ids); the whole section with the banked one.
    public var configNode: ConfigNode? {
        guard model == .banked else { return nil }
        return ConfigSchema.node(of: self)
    }

    /// Every key of `hardware.dram`, declared once (docs/config-reference.md's `hardware.dram:`
    /// table is rendered from this list). Every key is read and checked with either model; the
    /// structure, timing and power keys default to the preset's values.
    public static let keys: [ConfigKey<DRAMConfig>] = [
        .choice("model", \.model,
                doc: "`simple`: `memory.dram_bytes_per_cycle` and `energy.dram_pj_per_byte` (adds nothing to `config_id`); `banked`: channels, ranks, banks, rows and timing (docs/model.md, \"DRAM model\"); the keys below apply to `banked` only"),
        .choice("mode", \.mode, doc: "`fast`: one closed-form schedule over the phase, each tile costing its advance; `detailed`: event-driven list scheduler (for checking)"),
        .choice("preset", \.preset,
                doc: "DRAMsim3's `DDR4_8Gb_x8_3200.ini`, `HBM2_8Gb_x128.ini`, or Ramulator 2's LPDDR5-6400: the defaults of the keys below",
                check: { (c, _) throws(AttnError) in c.spec = c.preset.spec }),
        .choice("page_policy", \.pagePolicy, doc: "`open` or `closed` (precharge after an access unless the next request hits the same row)"),
        .choice("layout", \.layout,
                doc: "KV cache in DRAM: `per_head` (each KV head's K rows, then its V rows) or `interleaved` (each token's K row next to its V row)"),
        .int("kv_tokens", \.kvTokens, range: 1...(1 << 30), doc: "tokens reserved per (layer, KV head) in the layout"),
        .int("queue_depth", \.queueDepth, range: 1...4_096, doc: "controller transaction queue per channel (lookahead window = this + 8)"),
        ConfigKey(path: "mapping", type: "string", defaultText: "the preset's", readLast: true,
                  doc: "address bit order, most significant first, DRAMsim3 style: six fields `ro ch ra bg ba co` each once, e.g. `rochrababgco`; or `row-bank-column` (= `rochrababgco`), `bank-interleaved` (= `rorachcobabg`); read after the structure it maps",
                  read: { (s, c) throws(AttnError) in
                      let r = s.root
                      let text = try r.string("mapping", default: c.preset.mapping, nonEmpty: true)
                      switch AddressMapping.parse(text, spec: c.spec) {
                      case .success(let m): c.mapping = m
                      case .failure(let e): throw r.error(r.has("mapping") ? "mapping" : nil, "\(r.has("mapping") ? "" : "mapping: ")\(e.message)")
                      }
                  },
                  write: { .string($0.mapping.text) }),
    ] + structureKeys + timingKeys + powerKeys

    private static var specPath: WritableKeyPath<DRAMConfig, DRAMSpec> { \.spec }

    private static func specInt(_ group: String, _ key: String, _ path: WritableKeyPath<DRAMSpec, Int>, range: ClosedRange<Int>,
                            doc: String, check: ConfigCheck<DRAMConfig>? = nil) -> ConfigKey<DRAMConfig> {
        .int("\(group).\(key)", specPath.appending(path: path), range: range, defaultText: "the preset's", doc: doc, check: check)
    }

    private static func specDouble(_ group: String, _ key: String, _ path: WritableKeyPath<DRAMSpec, Double>, range: ClosedRange<Double>,
                               doc: String, check: ConfigCheck<DRAMConfig>? = nil) -> ConfigKey<DRAMConfig> {
        .double("\(group).\(key)", specPath.appending(path: path), range: range, defaultText: "the preset's", doc: doc, check: check)
    }

    /// A structure count: at least 1, and a power of two where the address mapping gives it a bit field.
    private static func count(_ key: String, _ path: WritableKeyPath<DRAMSpec, Int>, powerOfTwo: Bool, doc: String,
                              then: ConfigCheck<DRAMConfig>? = nil) -> ConfigKey<DRAMConfig> {
        let doc = doc + (powerOfTwo ? "; a power of two" : "") + "; ≥ 1"
        return specInt("structure", key, path, range: 0...(1 << 30), doc: doc, check: { (c, s) throws(AttnError) in
            let v = c.spec[keyPath: path], r = try s.reader("structure")
            if v == 0 { throw r.error(key, "must be at least 1 (a DRAM with no \(key.replacingOccurrences(of: "_", with: " ")) holds nothing)") }
            if powerOfTwo && v & (v - 1) != 0 {
                throw r.error(key, "expected a power of two (the address mapping gives it a bit field), got \(v)")
            }
            try then?(&c, s)
        })
    }

    static let structureKeys: [ConfigKey<DRAMConfig>] = [
        count("channels", \.channels, powerOfTwo: true, doc: "independent channels"),
        count("ranks", \.ranks, powerOfTwo: true, doc: "ranks per channel"),
        count("bank_groups", \.bankGroups, powerOfTwo: true, doc: "bank groups per rank"),
        count("banks_per_group", \.banksPerGroup, powerOfTwo: true, doc: "banks per bank group"),
        count("rows", \.rows, powerOfTwo: true, doc: "rows per bank"),
        count("columns", \.columns, powerOfTwo: true, doc: "columns per row, each `device_width_bits` wide; a multiple of `burst_length`"),
        count("bus_bits", \.busBits, powerOfTwo: false, doc: "data bus width of a channel, a multiple of 8"),
        count("device_width_bits", \.deviceWidthBits, powerOfTwo: false, doc: "width of one DRAM device; divides `bus_bits`"),
        count("burst_length", \.burstLength, powerOfTwo: false,
              doc: "data beats per column command; request bytes = bus_bits/8 × burst_length, a power of two (`memory.burst_bytes` follows it)",
              then: { (c, s) throws(AttnError) in
                  let spec = c.spec, r = try s.reader("structure")
                  if spec.requestBytes & (spec.requestBytes - 1) != 0 {
                      throw r.error("burst_length", "bus_bits/8 × burst_length = \(spec.requestBytes) bytes per request is not a power of two")
                  }
                  if spec.busBits % 8 != 0 { throw r.error("bus_bits", "expected a multiple of 8, got \(spec.busBits)") }
                  if spec.busBits % spec.deviceWidthBits != 0 {
                      throw r.error("device_width_bits", "must divide bus_bits = \(spec.busBits), got \(spec.deviceWidthBits)")
                  }
                  if spec.columns % spec.burstLength != 0 || spec.burstLength & (spec.burstLength - 1) != 0 {
                      throw r.error("columns", "must be a multiple of burst_length (a power of two) = \(spec.burstLength), got \(spec.columns)")
                  }
              }),
    ]

    private static func cycles(_ key: String, _ path: WritableKeyPath<DRAMSpec, Int>, doc: String,
                               check: ConfigCheck<DRAMConfig>? = nil) -> ConfigKey<DRAMConfig> {
        specInt("timing", key, path, range: 0...1_000_000, doc: doc, check: check)
    }

    /// The timing keys, in DRAM clock cycles (except `tck_ns`); checked together after the last.
    static let timingKeys: [ConfigKey<DRAMConfig>] = [
        specDouble("timing", "tck_ns", \.tCKns, range: 0.01...100, doc: "DRAM clock period, ns"),
        cycles("tcl", \.tCL, doc: "read (CAS) latency, ≥ 1"),
        cycles("tcwl", \.tCWL, doc: "write latency"),
        cycles("trcd", \.tRCD, doc: "activate to read or write, ≥ 1"),
        cycles("trp", \.tRP, doc: "precharge, ≥ 1"),
        cycles("tras", \.tRAS, doc: "activate to precharge, ≥ `trcd`"),
        cycles("trrd_s", \.tRRDS, doc: "activate to activate, another bank group"),
        cycles("trrd_l", \.tRRDL, doc: "activate to activate, same bank group; ≥ `trrd_s`"),
        cycles("tfaw", \.tFAW, doc: "four-activate window; ≥ `trrd_s`"),
        cycles("tccd_s", \.tCCDS, doc: "column to column, another bank group"),
        cycles("tccd_l", \.tCCDL, doc: "column to column, same bank group; ≥ `tccd_s`"),
        cycles("trtp", \.tRTP, doc: "read to precharge"),
        cycles("twr", \.tWR, doc: "write recovery"),
        cycles("twtr_s", \.tWTRS, doc: "write to read, another bank group"),
        cycles("twtr_l", \.tWTRL, doc: "write to read, same bank group"),
        cycles("trtrs", \.tRTRS, doc: "rank to rank switch"),
        cycles("trfc", \.tRFC, doc: "refresh cycle; < `trefi`"),
        cycles("trefi", \.tREFI, doc: "refresh interval, ≥ 1"),
        cycles("burst_cycles", \.burstCycles, doc: "data-bus cycles of one burst (BL/2 for double data rate), ≥ 1", check: checkTiming),
    ]

    private static func checkTiming(_ c: inout DRAMConfig, _ s: ConfigSectionReader) throws(AttnError) {
        let spec = c.spec, t = try s.reader("timing")
        for (key, v) in [("tcl", spec.tCL), ("trcd", spec.tRCD), ("trp", spec.tRP), ("tras", spec.tRAS),
                         ("burst_cycles", spec.burstCycles), ("trefi", spec.tREFI)] where v == 0 {
            throw t.error(key, "must be at least 1 cycle")
        }
        if spec.tRAS < spec.tRCD {
            throw t.error("tras", "tRAS = \(spec.tRAS) is shorter than tRCD = \(spec.tRCD): a row cannot close before it can be read")
        }
        if spec.tRRDL < spec.tRRDS { throw t.error("trrd_l", "tRRD_L = \(spec.tRRDL) must be ≥ tRRD_S = \(spec.tRRDS)") }
        if spec.tCCDL < spec.tCCDS { throw t.error("tccd_l", "tCCD_L = \(spec.tCCDL) must be ≥ tCCD_S = \(spec.tCCDS)") }
        if spec.tFAW < spec.tRRDS { throw t.error("tfaw", "tFAW = \(spec.tFAW) must be ≥ tRRD_S = \(spec.tRRDS)") }
        if spec.tRFC >= spec.tREFI {
            throw t.error("trfc", "tRFC = \(spec.tRFC) must be shorter than tREFI = \(spec.tREFI): the DRAM would only refresh")
        }
    }

    private static func current(_ key: String, _ path: WritableKeyPath<DRAMSpec, Double>, doc: String,
                                check: ConfigCheck<DRAMConfig>? = nil) -> ConfigKey<DRAMConfig> {
        specDouble("power", key, path, range: 0...1e6, doc: doc, check: check)
    }

    /// Micron's power method as DRAMsim3 applies it: volts, and mA per device.
    static let powerKeys: [ConfigKey<DRAMConfig>] = [
        current("vdd", \.vdd, doc: "supply voltage, V"),
        current("idd0", \.idd0, doc: "activate-precharge current, mA per device (IDD0·tRC must exceed IDD3N·tRAS + IDD2N·tRP)"),
        current("idd2n", \.idd2n, doc: "precharge standby current, mA per device"),
        current("idd3n", \.idd3n, doc: "active standby current, mA per device"),
        current("idd4r", \.idd4r, doc: "read burst current, mA per device"),
        current("idd4w", \.idd4w, doc: "write burst current, mA per device"),
        current("idd5ab", \.idd5ab, doc: "refresh current (all banks), mA per device", check: { (c, s) throws(AttnError) in
            if c.spec.activatePJ < 0 {
                throw try s.reader("power").error("idd0", "IDD0·tRC must exceed IDD3N·tRAS + IDD2N·tRP (activate energy would be negative)")
            }
        }),
    ]
}
