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
    /// `fast`: per-tile batched closed form (`DRAMModel`); `detailed`: in-order command scheduler
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

    /// The timing keys under `hardware.dram.timing`, in DRAM clock cycles (except `tck_ns`).
    nonisolated(unsafe) static let timingKeys: [(String, WritableKeyPath<DRAMSpec, Int>)] = [
        ("tcl", \.tCL), ("tcwl", \.tCWL), ("trcd", \.tRCD), ("trp", \.tRP), ("tras", \.tRAS),
        ("trrd_s", \.tRRDS), ("trrd_l", \.tRRDL), ("tfaw", \.tFAW), ("tccd_s", \.tCCDS), ("tccd_l", \.tCCDL),
        ("trtp", \.tRTP), ("twr", \.tWR), ("twtr_s", \.tWTRS), ("twtr_l", \.tWTRL), ("trtrs", \.tRTRS),
        ("trfc", \.tRFC), ("trefi", \.tREFI), ("burst_cycles", \.burstCycles),
    ]
    nonisolated(unsafe) static let structureKeys: [(String, WritableKeyPath<DRAMSpec, Int>)] = [
        ("channels", \.channels), ("ranks", \.ranks), ("bank_groups", \.bankGroups), ("banks_per_group", \.banksPerGroup),
        ("rows", \.rows), ("columns", \.columns), ("bus_bits", \.busBits), ("device_width_bits", \.deviceWidthBits),
        ("burst_length", \.burstLength),
    ]
    nonisolated(unsafe) static let powerKeys: [(String, WritableKeyPath<DRAMSpec, Double>)] = [
        ("vdd", \.vdd), ("idd0", \.idd0), ("idd2n", \.idd2n), ("idd3n", \.idd3n), ("idd4r", \.idd4r), ("idd4w", \.idd4w), ("idd5ab", \.idd5ab),
    ]
}

extension DRAMConfig {
    /// Decodes `hardware.dram`; rejects impossible timings, zero or non-power-of-two counts and a
    /// mapping that does not cover the address bits, naming the key.
    public init(from r: ConfigReader) throws(AttnError) {
        self.init()
        model = try r.choice("model", default: model)
        mode = try r.choice("mode", default: mode)
        preset = try r.choice("preset", default: preset)
        spec = preset.spec
        pagePolicy = try r.choice("page_policy", default: pagePolicy)
        layout = try r.choice("layout", default: layout)
        kvTokens = try r.int("kv_tokens", default: kvTokens, range: 1...(1 << 30))
        queueDepth = try r.int("queue_depth", default: queueDepth, range: 1...4_096)
        let s = try r.child("structure")
        for (key, path) in Self.structureKeys {
            spec[keyPath: path] = try s.int(key, default: spec[keyPath: path], range: 0...(1 << 30))
            let v = spec[keyPath: path]
            if v == 0 { throw s.error(key, "must be at least 1 (a DRAM with no \(key.replacingOccurrences(of: "_", with: " ")) holds nothing)") }
            if ["channels", "ranks", "bank_groups", "banks_per_group", "rows", "columns"].contains(key), v & (v - 1) != 0 {
                throw s.error(key, "expected a power of two (the address mapping gives it a bit field), got \(v)")
            }
        }
        if spec.requestBytes & (spec.requestBytes - 1) != 0 {
            throw s.error("burst_length", "bus_bits/8 × burst_length = \(spec.requestBytes) bytes per request is not a power of two")
        }
        if spec.busBits % 8 != 0 { throw s.error("bus_bits", "expected a multiple of 8, got \(spec.busBits)") }
        if spec.busBits % spec.deviceWidthBits != 0 {
            throw s.error("device_width_bits", "must divide bus_bits = \(spec.busBits), got \(spec.deviceWidthBits)")
        }
        if spec.columns % spec.burstLength != 0 || spec.burstLength & (spec.burstLength - 1) != 0 {
            throw s.error("columns", "must be a multiple of burst_length (a power of two) = \(spec.burstLength), got \(spec.columns)")
        }
        let t = try r.child("timing")
        spec.tCKns = try t.double("tck_ns", default: spec.tCKns, range: 0.01...100)
        for (key, path) in Self.timingKeys {
            spec[keyPath: path] = try t.int(key, default: spec[keyPath: path], range: 0...1_000_000)
        }
        for key in ["tcl", "trcd", "trp", "tras", "burst_cycles", "trefi"] {
            let v = spec[keyPath: Self.timingKeys.first { $0.0 == key }!.1]
            if v == 0 { throw t.error(key, "must be at least 1 cycle") }
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
        let p = try r.child("power")
        for (key, path) in Self.powerKeys {
            spec[keyPath: path] = try p.double(key, default: spec[keyPath: path], range: 0...1e6)
        }
        if spec.activatePJ < 0 {
            throw p.error("idd0", "IDD0·tRC must exceed IDD3N·tRAS + IDD2N·tRP (activate energy would be negative)")
        }
        let text = try r.string("mapping", default: preset.mapping, nonEmpty: true)
        switch AddressMapping.parse(text, spec: spec) {
        case .success(let m): mapping = m
        case .failure(let e): throw r.error(r.has("mapping") ? "mapping" : nil, "\(r.has("mapping") ? "" : "mapping: ")\(e.message)")
        }
    }

    /// The normalized section for config ids: nil for the simple model (adds nothing, so configs
    /// without `hardware.dram` keep their ids).
    public var configNode: ConfigNode? {
        guard model == .banked else { return nil }
        return .mapping([
            ("model", .string(model.rawValue)), ("mode", .string(mode.rawValue)), ("preset", .string(preset.rawValue)),
            ("page_policy", .string(pagePolicy.rawValue)), ("layout", .string(layout.rawValue)),
            ("kv_tokens", .int(kvTokens)), ("queue_depth", .int(queueDepth)), ("mapping", .string(mapping.text)),
            ("structure", .mapping(Self.structureKeys.map { ($0.0, .int(spec[keyPath: $0.1])) })),
            ("timing", .mapping([("tck_ns", .double(spec.tCKns))] + Self.timingKeys.map { ($0.0, .int(spec[keyPath: $0.1])) })),
            ("power", .mapping(Self.powerKeys.map { ($0.0, .double(spec[keyPath: $0.1])) })),
        ])
    }
}
