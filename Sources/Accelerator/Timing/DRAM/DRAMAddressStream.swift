import Foundation

/// Turns one tile's DRAM traffic — the Q tile, the K rows not buffered, the V rows the fetcher
/// brings, the output tile, the index and the spill (score/accumulator overflow, `OnChipPlan`) —
/// into request addresses, and prices them with the banked DRAM model. Requests of a tile are issued
/// in the order Q, spill read-back, K, V (reads), then output, index, spill write-out (writes). With
/// the `tiled` dataflow a "tile" here is one key tile of a query tile: Q comes with the first key
/// tile, output and index with the last.
///
/// Layout (byte addresses; C = the DRAM's capacity; s = layer · 64 + KV head, the (layer, KV head)
/// slot; T = max(`kv_tokens`, the activity's keys); K/V row bytes = head_dim × element bytes;
/// P = one DRAM row's bytes, the padding that staggers regions and slots across banks):
/// - KV cache in [0, C/2): slot s starts at s · (T · (K row + V row bytes) + P);
///   `per_head`: the slot's T K rows, then P, then its T V rows (K row r at r · K row bytes, V row r
///   at T · K row bytes + P + r · V row bytes); `interleaved`: token r's K row then V row at
///   r · (K row + V row bytes).
/// - Q at C/2 + 2P + s · (T · Q row bytes + P) + position · Q row bytes (Q row = group heads ×
///   head_dim × Q bytes); output likewise at 3C/4 + 3P; the index at 7C/8 + 4P + s · (4T + P) + a
///   running offset; the spill at 15C/16 + 5P + s · P, one scratch area per slot that every key tile
///   writes and reads back from its start.
/// Addresses wrap at the capacity (the mapping masks every field).
public struct DRAMAddressStream {
    public let config: DRAMConfig
    public var system: DRAMSystem
    public let recorder: DRAMTraceRecorder?
    let req: Int
    let kBase: Int, vBase: Int, kStride: Int, vStride: Int
    let qBase: Int, qRowBytes: Int, oBase: Int, oRowBytes: Int
    var idxNext: Int
    let spillBase: Int
    var requestsSoFar = 0
    public private(set) var total = DRAMStats()

    public init(config: DRAMConfig, layer: Int, kvHead: Int, keys: Int, headDim: Int, groupHeads: Int,
                qBytes: Int, kBytes: Int, vBytes: Int, outBytes: Int, recorder: DRAMTraceRecorder? = nil) {
        self.config = config
        system = DRAMSystem(config)
        self.recorder = recorder
        let spec = config.spec
        req = spec.requestBytes
        let cap = spec.capacityBytes
        let t = max(config.kvTokens, keys)
        let kRow = headDim * kBytes, vRow = headDim * vBytes
        let slot = layer * 64 + kvHead
        // Every region and slot is padded by one DRAM row, so that streams of one tile start in
        // different banks (or channels) instead of colliding in the bank of a power-of-two boundary.
        let pad = spec.rowBytes
        let slotBase = slot * (t * (kRow + vRow) + pad)
        switch config.layout {
        case .perHead:
            kBase = slotBase; vBase = slotBase + t * kRow + pad; kStride = kRow; vStride = vRow
        case .interleaved:
            kBase = slotBase; vBase = slotBase + kRow; kStride = kRow + vRow; vStride = kRow + vRow
        }
        qRowBytes = groupHeads * headDim * qBytes
        oRowBytes = groupHeads * headDim * outBytes
        qBase = cap / 2 + 2 * pad + slot * (t * qRowBytes + pad)
        oBase = cap / 2 + cap / 4 + 3 * pad + slot * (t * oRowBytes + pad)
        idxNext = cap / 2 + cap / 4 + cap / 8 + 4 * pad + slot * (t * 4 + pad)
        spillBase = cap / 2 + cap / 4 + cap / 8 + cap / 16 + 5 * pad + slot * pad
    }

    @inline(__always) private mutating func request(_ burst: Int, write: Bool, stream: DRAMTraceRecorder.Stream) {
        system.add(address: burst * req, write: write)
        requestsSoFar += 1
        recorder?.record(address: burst * req, write: write, stream: stream)
    }

    /// Requests covering bytes [start, start + count).
    private mutating func range(_ start: Int, _ count: Int, write: Bool, stream: DRAMTraceRecorder.Stream) {
        guard count > 0 else { return }
        let first = start / req, last = (start + count - 1) / req
        if recorder == nil && !write {
            system.addRange(address: first * req, count: last - first + 1)
            requestsSoFar += last - first + 1
            return
        }
        for b in first...last { request(b, write: write, stream: stream) }
    }

    /// Contiguous rows `rows` (K rows, or V rows of a dense fetch in the per-head layout).
    private mutating func rows(_ rows: Range<Int>, base: Int, stride: Int, rowBytes: Int, stream: DRAMTraceRecorder.Stream) {
        guard !rows.isEmpty else { return }
        if stride == rowBytes {
            range(base + rows.lowerBound * stride, rows.count * rowBytes, write: false, stream: stream)
        } else {
            self.rows(rows.lazy.map { $0 }, base: base, stride: stride, rowBytes: rowBytes, stream: stream)
        }
    }

    /// Requests for rows `rows` (ascending) of `rowBytes` each at `base` + row · `stride`, each burst once.
    private mutating func rows<S: Sequence<Int>>(_ rows: S, base: Int, stride: Int, rowBytes: Int, stream: DRAMTraceRecorder.Stream) {
        var last = -1
        for r in rows {
            let a = base + r * stride
            let first = max(a / req, last + 1), end = (a + rowBytes - 1) / req
            if end >= first { for b in first...end { request(b, write: false, stream: stream) } }
            last = max(last, end)
        }
    }

    /// Prices one tile; returns its DRAM cost (and the V share of its requests).
    public mutating func tile<V: Sequence<Int>>(position: Int, qBytes: Int, kRows: Range<Int>, kRowBytes: Int,
                                                vRows: V, vRowBytes: Int, outBytes: Int, indexBytes: Int,
                                                spillBytes: Int = 0) -> (stats: DRAMStats, vRequests: Int) {
        range(qBase + position * qRowBytes, qBytes, write: false, stream: .q)
        range(spillBase, spillBytes, write: false, stream: .spill)
        rows(kRows, base: kBase, stride: kStride, rowBytes: kRowBytes, stream: .k)
        let before = requestsSoFar
        if let dense = vRows as? Range<Int> {
            rows(dense, base: vBase, stride: vStride, rowBytes: vRowBytes, stream: .v)
        } else {
            rows(vRows, base: vBase, stride: vStride, rowBytes: vRowBytes, stream: .v)
        }
        let vRequests = requestsSoFar - before
        range(oBase + position * oRowBytes, outBytes, write: true, stream: .out)
        range(idxNext, indexBytes, write: true, stream: .index)
        idxNext += indexBytes
        range(spillBase, spillBytes, write: true, stream: .spill)
        let st = system.finishBatch()
        recorder?.advance(dramCycles: st.cycles)
        total += st
        return (st, vRequests)
    }

}

/// Collects the requests of a run as a DRAM address trace in DRAMsim3's trace format
/// (`0x<hex address> READ|WRITE <cycle>`, one per line), for `attnsim run --dram-trace FILE`. The
/// cycle is the DRAM cycle at which the request's tile starts in the model's own timeline (the sum
/// of the earlier tiles' costs). Thread-safe.
public final class DRAMTraceRecorder: @unchecked Sendable {
    public enum Stream: String, CaseIterable, Sendable { case q, k, v, out, index, spill }

    private let lock = NSLock()
    private let streams: Set<Stream>
    private var text = ""
    private var clock = 0.0
    public private(set) var count = 0

    public init(streams: Set<Stream> = Set(Stream.allCases)) { self.streams = streams }

    public func record(address: Int, write: Bool, stream: Stream) {
        guard streams.contains(stream) else { return }
        lock.lock()
        text += "0x\(String(address, radix: 16, uppercase: true)) \(write ? "WRITE" : "READ") \(Int(clock))\n"
        count += 1
        lock.unlock()
    }

    public func advance(dramCycles: Double) {
        lock.lock(); clock += dramCycles; lock.unlock()
    }

    public var contents: String { lock.lock(); defer { lock.unlock() }; return text }
}
