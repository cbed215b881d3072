import AttnCore

/// Everything about the accelerator's hardware that changes cost but not results: array shape and
/// dataflow, unit widths (lanes), buffers, DRAM, energy table. The arithmetic (bit widths,
/// pruning, quantization) is in `AttentionConfig`. Defaults are documented in docs/model.md and in
/// `Configs/default.yaml`.
public struct HardwareConfig: Sendable, Equatable {
    /// Clock of every unit, GHz (used only to convert cycles to time in reports).
    public var clockGHz: Double = 1.0
    public var array = SystolicArray()
    /// Query rows per prefill tile (a Q·Kᵀ/P·V tile covers this many query rows). 0 means the array's
    /// row count.
    public var queryTileRows: Int = 0
    /// How a query tile meets its keys (docs/model.md, "Dataflows"): `fullRow` computes every
    /// visible score of the tile's rows before softmax; `tiled` streams K/V in key tiles with an
    /// online (running max and denominator) softmax, FlashAttention-style.
    public var dataflow: AttentionDataflow = .fullRow
    /// Keys per key tile of the tiled dataflow. 0 means the array's column count.
    public var keyTileRows: Int = 0
    public var comparator = ThresholdComparator()
    public var topK = TopKUnit()
    public var softmax = SoftmaxUnit()
    public var quantizer = LogQuantizerUnit()
    public var vFetcher = SparseVFetcher()
    public var memory = MemorySystem()
    /// DRAM model: the simple bandwidth model of `memory` (default) or the banked one.
    public var dram = DRAMConfig()
    public var energy = EnergyTable()

    public init() {}

    public var effectiveQueryTileRows: Int { queryTileRows > 0 ? queryTileRows : array.rows }
    public var effectiveKeyTileRows: Int { keyTileRows > 0 ? keyTileRows : array.cols }
}

/// The attention dataflow of the timing model.
public enum AttentionDataflow: String, Sendable, CaseIterable {
    /// Whole score rows of a query tile on chip before softmax (today's default).
    case fullRow = "full_row"
    /// Key tiles with an online softmax: running max and denominator, accumulators rescaled.
    case tiled
}

extension HardwareConfig {
    /// Decodes the `hardware:` section; every key optional, unknown keys rejected.
    public init(from r: ConfigReader) throws(AttnError) {
        self.init()
        clockGHz = try r.double("clock_ghz", default: clockGHz, range: 0.001...100)
        queryTileRows = try r.int("query_tile_rows", default: queryTileRows, range: 0...1_048_576)
        dataflow = try r.choice("dataflow", default: dataflow)
        keyTileRows = try r.int("key_tile_rows", default: keyTileRows, range: 0...1_048_576)
        if dataflow == .fullRow && keyTileRows != 0 {
            throw r.error("key_tile_rows", "applies to dataflow: tiled (full_row takes whole rows)")
        }

        let a = try r.child("array")
        array = SystolicArray(rows: try a.int("rows", default: array.rows, range: 1...65_536),
                              cols: try a.int("cols", default: array.cols, range: 1...65_536),
                              dataflow: try a.choice("dataflow", default: array.dataflow),
                              schedule: try a.choice("schedule", default: array.schedule))

        let c = try r.child("comparator")
        comparator.lanes = try c.int("lanes", default: comparator.lanes, range: 1...65_536)

        let t = try r.child("topk")
        topK.lanes = try t.int("lanes", default: topK.lanes, range: 1...65_536)

        let s = try r.child("softmax")
        softmax.lanes = try s.int("lanes", default: softmax.lanes, range: 1...65_536)
        softmax.exp = try s.choice("exp", default: softmax.exp)
        softmax.lutEntries = try s.int("lut_entries", default: softmax.lutEntries, range: 2...1_048_576)

        let q = try r.child("quantizer")
        quantizer.lanes = try q.int("lanes", default: quantizer.lanes, range: 1...65_536)

        let v = try r.child("v_fetch")
        vFetcher.sparse = try v.bool("sparse", default: vFetcher.sparse)
        vFetcher.bufferKiB = try v.double("buffer_kib", default: vFetcher.bufferKiB, range: 0...1_048_576)
        vFetcher.index = try v.choice("index", default: vFetcher.index)

        let m = try r.child("memory")
        memory.dramBytesPerCycle = try m.double("dram_bytes_per_cycle", default: memory.dramBytesPerCycle, range: 0.001...1_000_000)
        memory.dramLatencyCycles = try m.int("dram_latency_cycles", default: memory.dramLatencyCycles, range: 0...1_000_000)
        memory.burstBytes = try m.int("burst_bytes", default: memory.burstBytes, range: 1...1_048_576)
        memory.sramBytesPerCycle = try m.double("sram_bytes_per_cycle", default: memory.sramBytesPerCycle, range: 0.001...1_000_000)
        memory.qBufferKiB = try m.double("q_buffer_kib", default: memory.qBufferKiB, range: 0.001...1_048_576)
        memory.kBufferKiB = try m.double("k_buffer_kib", default: memory.kBufferKiB, range: 0...1_048_576)
        memory.scoreBufferKiB = try m.double("score_buffer_kib", default: memory.scoreBufferKiB, range: 0.001...1_048_576)
        memory.outBufferKiB = try m.double("out_buffer_kib", default: memory.outBufferKiB, range: 0.001...1_048_576)
        memory.doubleBuffered = try m.bool("double_buffered", default: memory.doubleBuffered)
        memory.sramStage = try m.bool("sram_stage", default: dataflow == .tiled)

        dram = try DRAMConfig(from: try r.child("dram"))
        // The banked model moves whole requests of its own size.
        if dram.model == .banked {
            if m.has("burst_bytes") && memory.burstBytes != dram.spec.requestBytes {
                throw m.error("burst_bytes", "the banked DRAM model (hardware.dram) moves \(dram.spec.requestBytes)-byte requests; remove burst_bytes or set it to \(dram.spec.requestBytes)")
            }
            memory.burstBytes = dram.spec.requestBytes
        }

        let e = try r.child("energy")
        energy.mult8PJ = try e.double("mult8_pj", default: energy.mult8PJ, range: 0...1e6)
        energy.add8PJ = try e.double("add8_pj", default: energy.add8PJ, range: 0...1e6)
        energy.sramModel = try e.choice("sram_model", default: energy.sramModel)
        if energy.sramModel != .horowitz && e.has("sram_pj_per_byte_8kib") {
            throw e.error("sram_pj_per_byte_8kib", "applies to sram_model: horowitz only (sram_model is \(energy.sramModel.rawValue))")
        }
        energy.sramPJPerByteAt8KiB = try e.double("sram_pj_per_byte_8kib", default: energy.sramPJPerByteAt8KiB, range: 0...1e6)
        energy.dramPJPerByte = try e.double("dram_pj_per_byte", default: energy.dramPJPerByte, range: 0...1e9)
        energy.lutReadPJ = try e.double("lut_read_pj", default: energy.lutReadPJ, range: 0...1e6)
        energy.leakageMWPerMM2 = try e.double("leakage_mw_per_mm2", default: energy.leakageMWPerMM2, range: 0...1e6)
        try r.finish()
    }

    /// The normalized `hardware:` section (every value, defaults filled), for config ids and
    /// `--print-config`.
    /// Keys added after configs were committed (`dataflow`, `key_tile_rows`, `memory.sram_stage`,
    /// `dram`) appear only when they differ from their defaults, so the `config_id`s of existing
    /// configs stay.
    public var configNode: ConfigNode {
        .mapping(configEntries + (dram.configNode.map { [("dram", $0)] } ?? []))
    }

    private var configEntries: [(String, ConfigNode)] {
        var tiling: [(String, ConfigNode)] = []
        if dataflow != .fullRow { tiling.append(("dataflow", .string(dataflow.rawValue))) }
        if keyTileRows != 0 { tiling.append(("key_tile_rows", .int(keyTileRows))) }
        var sram: [(String, ConfigNode)] = []
        if memory.sramStage != (dataflow == .tiled) { sram.append(("sram_stage", .bool(memory.sramStage))) }
        return [
            ("clock_ghz", .double(clockGHz)),
            ("query_tile_rows", .int(queryTileRows)),
        ] + tiling + [
            ("array", .mapping([("rows", .int(array.rows)), ("cols", .int(array.cols)),
                                ("dataflow", .string(array.dataflow.rawValue)), ("schedule", .string(array.schedule.rawValue))])),
            ("comparator", .mapping([("lanes", .int(comparator.lanes))])),
            ("topk", .mapping([("lanes", .int(topK.lanes))])),
            ("softmax", .mapping([("lanes", .int(softmax.lanes)), ("exp", .string(softmax.exp.rawValue)),
                                  ("lut_entries", .int(softmax.lutEntries))])),
            ("quantizer", .mapping([("lanes", .int(quantizer.lanes))])),
            ("v_fetch", .mapping([("sparse", .bool(vFetcher.sparse)), ("buffer_kib", .double(vFetcher.bufferKiB)),
                                  ("index", .string(vFetcher.index.rawValue))])),
            ("memory", .mapping([("dram_bytes_per_cycle", .double(memory.dramBytesPerCycle)),
                                 ("dram_latency_cycles", .int(memory.dramLatencyCycles)),
                                 ("burst_bytes", .int(memory.burstBytes)),
                                 ("sram_bytes_per_cycle", .double(memory.sramBytesPerCycle)),
                                 ("q_buffer_kib", .double(memory.qBufferKiB)),
                                 ("k_buffer_kib", .double(memory.kBufferKiB)),
                                 ("score_buffer_kib", .double(memory.scoreBufferKiB)),
                                 ("out_buffer_kib", .double(memory.outBufferKiB)),
                                 ("double_buffered", .bool(memory.doubleBuffered))] + sram)),
            // sram_model is written only when it is not the default, so config_ids made before it existed stay.
            ("energy", .mapping([("mult8_pj", .double(energy.mult8PJ)), ("add8_pj", .double(energy.add8PJ)),
                                 ("sram_pj_per_byte_8kib", .double(energy.sramPJPerByteAt8KiB)),
                                 ("dram_pj_per_byte", .double(energy.dramPJPerByte)),
                                 ("lut_read_pj", .double(energy.lutReadPJ)),
                                 ("leakage_mw_per_mm2", .double(energy.leakageMWPerMM2))]
                                + (energy.sramModel == .horowitz ? [] : [("sram_model", .string(energy.sramModel.rawValue))]))),
        ]
    }
}

extension HardwareConfig {
    /// Rejects arithmetic the `tiled` dataflow cannot compute: whatever needs a row's complete
    /// normalization before P·V (docs/model.md, "Dataflows"). `attention` is the decoded section and
    /// `section` its reader (errors are located at the offending key).
    public func checkDataflow(supports attention: AttentionConfig, section: ConfigReader) throws(AttnError) {
        guard dataflow == .tiled else { return }
        func fail(_ child: String, _ key: String, _ message: String) -> AttnError {
            if let n = section.node(child), let r = try? ConfigReader(n, path: section.keyPath(child)) {
                return r.error(key, message + " (hardware.dataflow: tiled streams keys in tiles with an online softmax; use full_row)")
            }
            return section.error(child, message)
        }
        switch attention.pruning {
        case .none: break
        case .probability:
            throw fail("pruning", "kind", "probability thresholds compare p = e/Σ, which needs the whole row's denominator")
        case .topK:
            throw fail("pruning", "kind", "top_k sorts each whole row of scores")
        case .topTheta(let t):
            if t.placement == .probabilities {
                throw fail("pruning", "placement", "Top-θ on probabilities compares p = e/Σ, which needs the whole row's denominator")
            }
        }
        if attention.probabilityQuantization != .none {
            throw fail("probabilities", "quantization", "quantizing probabilities needs them normalized, i.e. the whole row's denominator, before P·V")
        }
        if attention.clippedSoftmax != nil {
            throw fail("softmax", "clipped", "clipped softmax clips normalized probabilities, which needs the whole row's denominator before P·V")
        }
    }
}
