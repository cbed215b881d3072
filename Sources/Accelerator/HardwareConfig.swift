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

extension HardwareConfig: ConfigSection {
    /// Decodes the `hardware:` section; every key optional, unknown keys rejected.
    public init(from r: ConfigReader) throws(AttnError) {
        self = try ConfigSchema.decode(Self.keys, from: r)
    }

    /// The normalized `hardware:` section (every value, defaults filled), for config ids and
    /// `--print-config`. Keys added after configs were committed (`dataflow`, `key_tile_rows`,
    /// `memory.sram_stage`, `dram`, `energy.sram_model`) appear only when they differ from their
    /// defaults, so the `config_id`s of existing configs stay.
    public var configNode: ConfigNode { ConfigSchema.node(Self.keys, of: self) }

    /// Every key of the `hardware:` section, declared once (docs/config-reference.md is rendered
    /// from this list and checked against it by a test).
    public static let keys: [ConfigKey<HardwareConfig>] = [
        .double("clock_ghz", \.clockGHz, range: 0.001...100, doc: "clock, for `time_us`"),
        .int("query_tile_rows", \.queryTileRows, range: 0...1_048_576, defaultText: "0 (= array rows)",
             doc: "query rows per prefill tile (shrunk to fit the buffers: docs/model.md, \"On-chip capacity\")"),
        .choice("dataflow", \.dataflow, omitWhenDefault: true,
                doc: "`full_row` (a query tile's whole score rows on chip before softmax) or `tiled` (K/V in key tiles, online softmax; rejects pruning and arithmetic that need a row's complete denominator: docs/model.md, \"Dataflows\")"),
        .int("key_tile_rows", \.keyTileRows, range: 0...1_048_576, defaultText: "0 (= array cols)", omitWhenDefault: true,
             doc: "keys per key tile of `dataflow: tiled` (shrunk to fit the score, K and V buffers); an error with `full_row`",
             check: { (h, s) throws(AttnError) in
                 if h.dataflow == .fullRow && h.keyTileRows != 0 {
                     throw s.root.error("key_tile_rows", "applies to dataflow: tiled (full_row takes whole rows)")
                 }
             }),
        .int("array.rows", \.array.rows, range: 1...65_536, doc: "PE rows"),
        .int("array.cols", \.array.cols, range: 1...65_536, doc: "PE columns"),
        .choice("array.dataflow", \.array.dataflow, doc: "output, weight or input stationary"),
        .choice("array.schedule", \.array.schedule, doc: "`scalesim` (folds fill and drain serially) or `overlapped`"),
        .int("comparator.lanes", \.comparator.lanes, range: 1...65_536, doc: "threshold comparisons per cycle"),
        .int("topk.lanes", \.topK.lanes, range: 1...65_536, doc: "compare-exchanges per cycle of the top-k network"),
        .int("softmax.lanes", \.softmax.lanes, range: 1...65_536, doc: "elements per cycle per pass"),
        .choice("softmax.exp", \.softmax.exp, doc: "exponent by lookup table or by shifts"),
        .int("softmax.lut_entries", \.softmax.lutEntries, range: 2...1_048_576, doc: "exponent LUT size (area)"),
        .int("quantizer.lanes", \.quantizer.lanes, range: 1...65_536, doc: "probabilities quantized per cycle"),
        .bool("v_fetch.sparse", \.vFetcher.sparse, doc: "fetch only needed V rows"),
        .double("v_fetch.buffer_kib", \.vFetcher.bufferKiB, range: 0...1_048_576,
                doc: "V buffer (row cache; with `tiled` it must also hold a key tile of V, else the key tile shrinks)"),
        .choice("v_fetch.index", \.vFetcher.index, doc: "how kept rows are listed"),
        .double("memory.dram_bytes_per_cycle", \.memory.dramBytesPerCycle, range: 0.001...1_000_000, doc: "DRAM bandwidth"),
        .int("memory.dram_latency_cycles", \.memory.dramLatencyCycles, range: 0...1_000_000, doc: "DRAM latency"),
        .int("memory.burst_bytes", \.memory.burstBytes, range: 1...1_048_576,
             doc: "DRAM burst (with `dram.model: banked` it is the banked model's request size)"),
        .double("memory.sram_bytes_per_cycle", \.memory.sramBytesPerCycle, range: 0.001...1_000_000,
                doc: "bytes per cycle of each buffer's port (reads and writes share it)"),
        .double("memory.q_buffer_kib", \.memory.qBufferKiB, range: 0.001...1_048_576, doc: bufferDoc("Q tile")),
        .double("memory.k_buffer_kib", \.memory.kBufferKiB, range: 0...1_048_576, doc: bufferDoc("K rows (row cache across tiles)")),
        .double("memory.score_buffer_kib", \.memory.scoreBufferKiB, range: 0.001...1_048_576, doc: bufferDoc("score tile")),
        .double("memory.out_buffer_kib", \.memory.outBufferKiB, range: 0.001...1_048_576, doc: bufferDoc("output accumulators")),
        .bool("memory.double_buffered", \.memory.doubleBuffered, doc: "overlap tiles' stages and DRAM"),
        .bool("memory.sram_stage", \.memory.sramStage, default: { $0.dataflow == .tiled },
              defaultText: "`true` with `dataflow: tiled`, `false` with `full_row`", omitWhenDefault: true,
              doc: "SRAM port time is a pipeline stage (`cycles_sram`; `bound_by` may be `sram`); off by default for `full_row` so its published figures stay"),
        ConfigKey(path: "dram", type: "mapping", defaultText: "`model: simple`", omitWhenDefault: true,
                  doc: "the DRAM model: the `hardware.dram:` table below",
                  read: { (s, h) throws(AttnError) in
                      h.dram = try DRAMConfig(from: try s.reader("dram"))
                      // The banked model moves whole requests of its own size.
                      guard h.dram.model == .banked else { return }
                      let m = try s.reader("memory"), request = h.dram.spec.requestBytes
                      if m.has("burst_bytes") && h.memory.burstBytes != request {
                          throw m.error("burst_bytes", "the banked DRAM model (hardware.dram) moves \(request)-byte requests; remove burst_bytes or set it to \(request)")
                      }
                      h.memory.burstBytes = request
                  },
                  write: { $0.dram.configNode }),
        .double("energy.mult8_pj", \.energy.mult8PJ, range: 0...1e6, doc: "8-bit multiply (Horowitz 45 nm)"),
        .double("energy.add8_pj", \.energy.add8PJ, range: 0...1e6, doc: "8-bit add (Horowitz 45 nm)"),
        .choice("energy.sram_model", \.energy.sramModel, omitWhenDefault: true,
                doc: "`horowitz`: `sram_pj_per_byte_8kib`'s formula and 0.7 µm² per bit; `cacti45`: each buffer's energy per byte and area from CACTI 7 at 45 nm (64-bit macros, interpolated over size; docs/model.md)",
                check: { (h, s) throws(AttnError) in
                    let e = try s.reader("energy")
                    if h.energy.sramModel != .horowitz && e.has("sram_pj_per_byte_8kib") {
                        throw e.error("sram_pj_per_byte_8kib", "applies to sram_model: horowitz only (sram_model is \(h.energy.sramModel.rawValue))")
                    }
                }),
        .double("energy.sram_pj_per_byte_8kib", \.energy.sramPJPerByteAt8KiB, range: 0...1e6,
                doc: "scaled by √(size/8 KiB); `horowitz` only (an error with `cacti45`)"),
        .double("energy.dram_pj_per_byte", \.energy.dramPJPerByte, range: 0...1e9, doc: "DRAM energy per byte (simple DRAM model)"),
        .double("energy.lut_read_pj", \.energy.lutReadPJ, range: 0...1e6, doc: "one exponent lookup"),
        .double("energy.leakage_mw_per_mm2", \.energy.leakageMWPerMM2, range: 0...1e6, doc: "static power (0: off)"),
    ]

    private static func bufferDoc(_ what: String) -> String {
        "\(what) buffer, enforced (docs/model.md, \"On-chip capacity\"): tiles shrink to fit, what cannot shrink spills to DRAM"
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
