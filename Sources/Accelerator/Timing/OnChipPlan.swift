/// Fits a phase's tiles into the on-chip buffers (`hardware.memory.*_kib`, `v_fetch.buffer_kib`)
/// instead of assuming they fit. Capacities are in bytes; a "pass" is what one Q·Kᵀ GEMM covers: one
/// query head's tile in prefill (the group's heads follow one another), the group's g heads batched
/// in decode. With pass rows P = m (prefill) or g·m (decode), key tile width w (the tile's longest
/// row for `full_row`), head dim d:
///
/// | buffer | holds | must fit |
/// |---|---|---|
/// | Q | the pass's query rows | P · d · q bytes ≤ Q |
/// | output accumulators | the pass's output rows at accumulator width | P · d · acc bytes ≤ out |
/// | score | the pass's scores of one key tile | P · w · score bytes ≤ score |
/// | K (tiled) | one key tile of K | w · d · k bytes ≤ K (when K > 0) |
/// | V (tiled) | one key tile of V | w · d · v bytes ≤ V (when V > 0) |
///
/// Retiling first: the prefill query tile shrinks (from `query_tile_rows`) to the largest m ≥ 1 whose
/// Q rows, accumulators and — `full_row` — score rows at the phase's longest row fit; the `tiled` key
/// tile shrinks (from `key_tile_rows`) to the largest w ≥ 1 whose scores, K and V tiles fit. What a
/// one-row (decode: one step of g heads), one-key tile still overflows spills: the overflow bytes of
/// the score buffer and of the accumulators are written to DRAM and read back, once per tile for
/// `full_row` and once per key tile for `tiled` (the accumulators go out and come back between key
/// tiles). K and V rows that do not stay in their buffers are refetched by the row caches already
/// (their LRU), so streaming a KV cache larger than the buffers is counted there.
public struct OnChipPlan: Sendable, Equatable {
    /// Query rows per prefill tile after fitting (1 in decode).
    public var queryTileRows: Int
    /// Keys per key tile after fitting (`tiled`; unused by `full_row`).
    public var keyTileRows: Int
    public var scoreCapacity: Int, accumulatorCapacity: Int
    var scoreBytes: Int, headDim: Int

    public init(hardware hw: HardwareConfig, workload wl: TimingWorkload, phase: HeadActivity.Phase,
                queryHeads g: Int, headDim d: Int, maxKeys: Int) {
        let mem = hw.memory
        func bytes(_ kib: Double) -> Int { Int(kib * 1024) }
        let sB = TimingWorkload.bytes(wl.scoreBits), accB = TimingWorkload.bytes(wl.accBits), qB = TimingWorkload.bytes(wl.qBits)
        scoreCapacity = bytes(mem.scoreBufferKiB)
        accumulatorCapacity = bytes(mem.outBufferKiB)
        scoreBytes = sB
        headDim = d
        let tiled = hw.dataflow == .tiled
        if phase == .decode {
            queryTileRows = 1
        } else {
            var m = hw.effectiveQueryTileRows
            m = min(m, bytes(mem.qBufferKiB) / max(1, d * qB))
            m = min(m, accumulatorCapacity / max(1, d * accB))
            if !tiled { m = min(m, scoreCapacity / max(1, maxKeys * sB)) }
            queryTileRows = max(1, m)
        }
        let passRows = phase == .decode ? g : queryTileRows
        var w = hw.effectiveKeyTileRows
        if tiled {
            w = min(w, scoreCapacity / max(1, passRows * sB))
            if mem.kBufferKiB > 0 { w = min(w, bytes(mem.kBufferKiB) / max(1, d * TimingWorkload.bytes(wl.kBits))) }
            if hw.vFetcher.bufferKiB > 0 { w = min(w, bytes(hw.vFetcher.bufferKiB) / max(1, d * TimingWorkload.bytes(wl.vBits))) }
        }
        keyTileRows = max(1, w)
    }

    /// Bytes spilled to DRAM (and as many read back) for one key tile of `passes` passes of
    /// `passRows` rows: the score and accumulator overflow (`full_row` has one key tile per tile).
    public func spillBytes(passRows: Int, keyTileWidth: Int, passes: Int, accumulatorBytes: Int) -> Int {
        let scores = max(0, passRows * keyTileWidth * scoreBytes - scoreCapacity)
        let acc = max(0, passRows * headDim * accumulatorBytes - accumulatorCapacity)
        return (scores + acc) * passes
    }
}
