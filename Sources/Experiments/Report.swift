import Accelerator
import AttnCore
import Foundation

/// One CSV row: a point × trace × phase (× layer × KV head with `--detail`). The columns, their units
/// and meaning are listed in `ReportRow.columns` and documented in docs/report-columns.md.
public struct ReportRow: Sendable {
    public struct Context: Sendable {
        var point: ExperimentPoint
        var trace: String
        var phase: HeadActivity.Phase
        var evaluated: [Int]
        var calibration: [Int]
        var clockGHz: Double
        var areaMM2: Double
        /// Bytes of the Top-θ threshold table for this trace (0 without Top-θ).
        var thresholdTableBytes = 0
    }

    /// Fixed columns, in order, each with its description (docs/report-columns.md is generated from
    /// this list by `attnsim columns`). Swept values follow as one column per swept key path.
    public static let columns: [(name: String, meaning: String)] = [
        ("config_id", "first 12 hex digits of the SHA-256 of the fully resolved config (defaults filled)"),
        ("point", "index of the sweep point (cartesian order, first sweep key slowest)"),
        (SweepOutput.revisionColumn, "revision of attnsim's models that produced the row (`--resume` and `merge` refuse to mix revisions; docs/robustness.md)"),
        ("trace", "trace file name"),
        ("phase", "prefill (all prompt rows as tiles) or decode (one query row per step against the KV cache)"),
        ("layer", "layer index, or 'all' for the phase total"),
        ("kv_head", "KV head index, or 'all'"),
        ("cycles", "accelerator cycles (a count), stages overlapped as configured"),
        ("cycles_qk", "systolic-array cycles of Q·Kᵀ"),
        ("cycles_threshold", "threshold-comparator (or top-k network) cycles"),
        ("cycles_softmax", "softmax-unit cycles"),
        ("cycles_quantize", "log/uniform probability quantizer cycles"),
        ("cycles_pv", "systolic-array cycles of P·V"),
        ("cycles_vfetch", "DRAM transfer cycles of V rows"),
        ("cycles_dram", "DRAM transfer cycles of all traffic"),
        ("bound_by", "stage with the most cycles: qk, threshold, softmax, quantize, pv, dram (or sram, with the SRAM port stage)"),
        ("time_us", "cycles / clock, microseconds"),
        ("array_utilization", "MACs / (PEs × array cycles)"),
        ("dram_read_bytes", "bytes read from DRAM (whole bursts)"),
        ("dram_write_bytes", "bytes written to DRAM (whole bursts)"),
        ("dram_compulsory_bytes", "unique bytes a perfect memory would move (no refetch, no burst rounding)"),
        ("sram_read_bytes", "bytes read from on-chip buffers"),
        ("sram_write_bytes", "bytes written to on-chip buffers"),
        ("energy_pj", "total energy, pJ"),
        ("energy_qk_pj", "Q·Kᵀ MAC energy, pJ"),
        ("energy_threshold_pj", "comparator or top-k energy, pJ"),
        ("energy_softmax_pj", "softmax-unit energy, pJ"),
        ("energy_quantize_pj", "quantizer energy, pJ"),
        ("energy_pv_pj", "P·V MAC or shift-add energy, pJ"),
        ("energy_sram_pj", "SRAM access energy, pJ"),
        ("energy_dram_pj", "DRAM access energy, pJ"),
        ("area_mm2", "rough area of array, units and buffers, mm² (45 nm)"),
        ("kept_fraction", "kept attention scores / visible scores"),
        ("v_rows_fetched_fraction", "V rows the fetcher requested / V rows visible, summed over tiles"),
        ("v_dram_bytes", "V bytes moved from DRAM"),
        ("v_dense_dram_bytes", "V bytes a dense fetcher with the same buffer would move"),
        ("index_bytes", "sparse-fetch index metadata bytes"),
        ("rel_l2_error", "‖o − o_exact‖ / ‖o_exact‖ over every attention output row"),
        ("cosine", "cosine similarity of attention outputs to exact float attention"),
        ("worst_head_rel_l2", "largest per-head relative L2 error"),
        ("worst_head", "where it occurred: s<sequence>.l<layer>.h<head>"),
        ("worst_head_cosine", "smallest per-head cosine similarity"),
        ("attention_mass_kept", "mean over rows of the exact probability mass on kept positions"),
        ("probs_below_1e3", "fraction of exact probabilities below 1e-3"),
        ("saturation_events", "fixed-point values or accumulators clipped"),
        ("keep_max_events", "rows where pruning kept nothing and the maximum was kept"),
        ("rows", "attention rows evaluated (query rows × heads)"),
        ("sequences", "trace sequences evaluated"),
        ("calibration_sequences", "trace sequences used to calibrate thresholds"),
    ]

    /// Columns of the on-chip model, appended after the fixed columns only when some point of the run
    /// uses it (`hardware.dataflow: tiled`, `hardware.memory.sram_stage: true` or
    /// `attention.pruning.length_buckets`), so reports of configs that do not keep their columns.
    public static let onChipColumns: [(name: String, meaning: String)] = [
        ("cycles_sram", "SRAM port cycles: per tile, the busiest buffer's bytes / memory.sram_bytes_per_cycle (a stage; bound_by may name sram); 0 without the stage"),
        ("k_dram_bytes", "K bytes moved from DRAM (rows not held in the K buffer, whole bursts)"),
        ("kv_dram_passes", "(K + V bytes moved from DRAM) / (K + V bytes of the caches): 1 when they stay on chip, about the query tiles or decode steps when they stream"),
        ("spill_dram_bytes", "score-buffer and accumulator overflow written to DRAM and read back (both directions)"),
        ("rescale_ops", "online-softmax rescale multiplies (tiled): (1 + d_v) per row and key tile after its first"),
        ("query_tile_rows", "smallest prefill query tile used after fitting the buffers (decode: 1)"),
        ("key_tile_rows", "smallest key tile used after fitting the buffers (full_row: the longest row)"),
        ("threshold_table_bytes", "Top-θ threshold table for the trace: layers × heads × stored row lengths × threshold bytes (+ constants); 0 without Top-θ"),
    ]

    /// Columns of the banked DRAM model (`hardware.dram.model: banked`), after the fixed ones (and the
    /// on-chip ones); present only when some point of the run uses it, so reports of the simple model
    /// are unchanged.
    public static let dramColumns: [(name: String, meaning: String)] = [
        ("dram_requests", "DRAM requests (column commands) of the banked model"),
        ("dram_row_hit_rate", "row-buffer hits / requests"),
        ("dram_row_hits", "requests to the open row"),
        ("dram_row_misses", "requests to a precharged bank (activate only)"),
        ("dram_row_conflicts", "requests to a bank with another row open (precharge + activate)"),
        ("dram_activates", "ACT commands"),
        ("dram_cycles", "DRAM clock cycles the requests took (tiles summed; refresh derating included)"),
        ("dram_achieved_gbps", "bytes of the requests / their DRAM time, GB/s"),
        ("dram_peak_gbps", "peak data bandwidth of the configured DRAM, GB/s"),
        ("dram_limit", "what decided most DRAM cycles: bus (burst, tCCD), activates (tRRD, tFAW) or bank (tRAS, tRP)"),
    ]

    public var values: [String]
    public var onChipValues: [String]
    public var dramValues: [String] = []
    public var swept: [SweptValue]

    init(_ c: Context, layer: Int?, kvHead: Int?, cost: PhaseCost, fidelity f: Fidelity) {
        func n(_ v: Double) -> String { CSV.number(v) }
        func i(_ v: Int) -> String { String(v) }
        let list: ([Int]) -> String = { $0.isEmpty ? "none" : $0.map(String.init).joined(separator: " ") }
        values = [
            c.point.configID, i(c.point.index), i(AttnSimVersion.modelRevision), c.trace, c.phase.rawValue, layer.map(i) ?? "all", kvHead.map(i) ?? "all",
            i(cost.cycles), i(cost.cyclesQK), i(cost.cyclesThreshold), i(cost.cyclesSoftmax), i(cost.cyclesQuantize),
            i(cost.cyclesPV), i(cost.cyclesVFetch), i(cost.cyclesDRAM), cost.boundBy,
            n(Double(cost.cycles) / (c.clockGHz * 1000)), n(cost.arrayUtilization),
            i(cost.dramReadBytes), i(cost.dramWriteBytes), i(cost.dramCompulsoryBytes), i(cost.sramReadBytes), i(cost.sramWriteBytes),
            n(cost.energyPJ), n(cost.energyQKPJ), n(cost.energyThresholdPJ), n(cost.energySoftmaxPJ), n(cost.energyQuantizePJ),
            n(cost.energyPVPJ), n(cost.energySRAMPJ), n(cost.energyDRAMPJ), n(c.areaMM2),
            n(cost.keptFraction), n(cost.vRowsFetchedFraction), i(cost.vDRAMBytes), i(cost.vDenseDRAMBytes), i(cost.indexBytes),
            n(f.relativeL2), n(f.cosine), n(f.worstHeadRelL2), f.worstHead, n(f.worstHeadCosine), n(f.attentionMassKept),
            n(f.visible > 0 ? Double(f.below1e3) / Double(f.visible) : 0), i(f.saturations), i(f.keepMaxEvents), i(f.rows),
            list(c.evaluated), list(c.calibration),
        ]
        onChipValues = [i(cost.cyclesSRAM), i(cost.kDRAMBytes), n(cost.kvDRAMPasses), i(cost.spillDRAMBytes), i(cost.rescaleOps),
                        i(cost.queryTileRowsMin), i(cost.keyTileRowsMin), i(c.thresholdTableBytes)]
        swept = c.point.swept
        let dram = c.point.config.hardware.dram
        if dram.model == .banked {
            let d = cost.dram, spec = dram.spec
            let ns = d.cycles * spec.tCKns
            dramValues = [i(d.requests), n(d.hitRate), i(d.hits), i(d.misses), i(d.conflicts), i(d.activates), n(d.cycles),
                          n(ns > 0 ? Double(d.requests * spec.requestBytes) / ns : 0), n(spec.peakBytesPerCycle / spec.tCKns), d.limit]
        }
    }

    /// Header: the fixed columns, the on-chip columns when `onChip`, the banked DRAM model's columns
    /// when `dram`, then one per swept key path (in sweep order).
    public static func header(sweptPaths: [String], onChip: Bool = false, dram: Bool = false) -> [String] {
        columns.map(\.name) + (onChip ? onChipColumns.map(\.name) : []) + (dram ? dramColumns.map(\.name) : []) + sweptPaths
    }

    public func fields(sweptPaths: [String], onChip: Bool = false, dram: Bool = false) -> [String] {
        values + (onChip ? onChipValues : [])
            + (dram ? (dramValues.isEmpty ? Array(repeating: "", count: Self.dramColumns.count) : dramValues) : [])
            + sweptPaths.map { path in swept.first { $0.path == path }?.value ?? "" }
    }

    /// Whether a run of these points reports the on-chip columns: some point uses the tiled dataflow,
    /// the SRAM port stage or a bucketed Top-θ threshold table.
    public static func reportsOnChip(_ points: [ExperimentPoint]) -> Bool {
        points.contains { p in
            var bucketed = false
            if case .topTheta(let t) = p.config.attention.pruning { bucketed = t.buckets != .none }
            return p.config.hardware.dataflow == .tiled || p.config.hardware.memory.sramStage || bucketed
        }
    }
}

/// The CSV text of a set of rows.
public func reportCSV(_ rows: [ReportRow], sweptPaths: [String], onChip: Bool = false, dram: Bool = false) -> String {
    var text = CSV.record(ReportRow.header(sweptPaths: sweptPaths, onChip: onChip, dram: dram))
    for r in rows { text += CSV.record(r.fields(sweptPaths: sweptPaths, onChip: onChip, dram: dram)) }
    return text
}
