/// What a batch of DRAM requests (or a sum of batches) cost.
public struct DRAMStats: Sendable, Equatable {
    public var reads = 0, writes = 0
    /// Row-buffer outcomes: hit (row open), miss (bank precharged), conflict (another row open).
    public var hits = 0, misses = 0, conflicts = 0
    public var activates = 0, precharges = 0
    /// DRAM clock cycles the batches took (busy time, refresh derating included).
    public var cycles = 0.0
    /// The part of `cycles` decided by each limit: the data bus / column timing (tCCD, burst), the
    /// activate rate (tRRD, tFAW) or one bank's row cycling (tRAS, tRP, tRC).
    public var busLimitedCycles = 0.0, activateLimitedCycles = 0.0, bankLimitedCycles = 0.0
    /// Activate + precharge energy and read/write burst energy, pJ (background energy is added per
    /// phase by the pipeline: it depends on the phase's duration, not on the requests).
    public var activatePJ = 0.0, burstPJ = 0.0
    /// Σ over batches of batch cycles × ranks the batch touched (active standby, IDD3N); the other
    /// ranks stay in precharge standby (IDD2N).
    public var activeRankCycles = 0.0

    public init() {}

    public var requests: Int { reads + writes }
    public var hitRate: Double { requests == 0 ? 0 : Double(hits) / Double(requests) }
    public var energyPJ: Double { activatePJ + burstPJ }

    /// The limit that decided most of the cycles: bus, activates or bank.
    public var limit: String {
        if activateLimitedCycles > busLimitedCycles && activateLimitedCycles >= bankLimitedCycles { return "activates" }
        if bankLimitedCycles > busLimitedCycles { return "bank" }
        return "bus"
    }

    public static func += (a: inout DRAMStats, b: DRAMStats) {
        a.reads += b.reads; a.writes += b.writes
        a.hits += b.hits; a.misses += b.misses; a.conflicts += b.conflicts
        a.activates += b.activates; a.precharges += b.precharges
        a.cycles += b.cycles
        a.busLimitedCycles += b.busLimitedCycles; a.activateLimitedCycles += b.activateLimitedCycles
        a.bankLimitedCycles += b.bankLimitedCycles
        a.activatePJ += b.activatePJ; a.burstPJ += b.burstPJ
        a.activeRankCycles += b.activeRankCycles
    }

    /// Background and refresh energy of `spec` over `cycles` DRAM cycles, pJ: IDD3N for the
    /// `activeRankCycles`, IDD2N for the rest of every rank's time, plus refresh averaged over tREFI.
    public func backgroundPJ(_ spec: DRAMSpec, cycles: Double) -> Double {
        let all = cycles * Double(spec.channels * spec.ranks)
        let active = min(activeRankCycles, all)
        return (active * spec.backgroundMWPerRank + (all - active) * spec.prechargeStandbyMWPerRank + all * spec.refreshMWPerRank) * spec.tCKns
    }
}

/// The fast DRAM model: one continuous schedule of a request stream, advanced request by request
/// in closed form (no event queue, no command-level search), read out per batch (one pipeline
/// step's requests) as the advance of the schedule's end.
///
/// Each request is located by the address mapping and classified against its bank's open row (hit,
/// miss, conflict). Closed page: a bank is precharged after an access unless the next request goes to
/// the same bank and row. Requests arrive in stream order (an in-order front end, as DRAMsim3's driver
/// feeds them) into DRAMsim3's PER_BANK controller queues: a transaction queue of `queue_depth` per
/// channel and a command queue of 8 per bank (`window` = their sum). A request enters when its
/// channel's transaction queue has room (the request `queue_depth` places before it there has moved
/// on), never before the request before it entered, and moves on to its bank's command queue when
/// that has room (the bank's request 8 places before it has issued). Per channel, per rank and per
/// bank the schedule keeps the time each resource is busy until, each request's work starting no
/// earlier than it moved on:
/// - data bus / column timing, per channel: each request occupies the bus for its gap — requests
///   form runs of consecutive requests to one (rank, bank group); a run of L costs
///   f(L) = max(L · max(burst, tCCD_S), (L − W) · tCCD_L), W = the window (the last W requests of a
///   run interleave with the next run's first W), charged as f(L) − f(L − 1); + tRTRS at a rank
///   switch, + the read↔write turnaround (write→read tCWL + burst + tWTR_S, read→write tCL + burst
///   + 2 − tCWL), + tRP + tRCD for a row conflict right after a request to the same bank (nothing else
///   queued for the bus to overlap the precharge and activate with);
/// - activate rate, per rank: each activate takes tRRD_L/tRRD_S after the previous one and a
///   quarter of tFAW;
/// - row cycling, per bank: a row episode (an activate and the k hits that follow) starts when the
///   bank's previous episode ended and its first request moved on, and holds the bank
///   max(tRAS, tRCD + (k−1)·tCCD_L + tRTP) + tRP when a conflict (or closed page) ends it, and
///   tRCD + (k−1)·tCCD_L + burst so far while it stays open. A request issues (freeing its command
///   queue slot) when both its bus slot and its bank (tRCD + (i−1)·tCCD_L into its episode) are done.
/// The schedule's end is the latest of these, divided by 1 − tRFC/tREFI (refresh as an average
/// derating); a batch costs the end's advance over the batch. Nothing resets at a batch edge, so the
/// total time of a stream does not depend on how it is cut into batches (tested), and one batch is
/// the whole-stream figure compared with DRAMsim3. The first access latency (tRCD + tCL + burst) is
/// not part of a batch: the pipeline pays `memory.dram_latency_cycles` once per stream. Energy:
/// activates × `DRAMSpec.activatePJ` + bursts × `readBurstPJ`/`writeBurstPJ`.
public struct DRAMModel: Sendable {
    public let spec: DRAMSpec
    public let mapping: AddressMapping
    public let closedPage: Bool
    /// Requests the controller sees at once per channel (queue depth + per-bank command queue).
    public let window: Double
    /// The controller's queues: a transaction queue per channel and a command queue per bank
    /// (DRAMsim3's PER_BANK structure; `window` = their sum).
    private let transQueue: Int, cmdQueue: Int
    private let s: Timing
    // Banks.
    private var openRow: [Int32]
    private var episodeBursts: [Int32]
    private var episodeWrite: [Bool]
    /// When the bank's last closed episode ended, and when its open one started.
    private var bankFree: [Double], episodeStart: [Double]
    // Channels.
    private var chRun: [Int]
    private var chLastBank: [Int32]
    private var chBus: [Double], chStarted: [Bool], chLastRank: [Int32], chLastBG: [Int32], chLastWrite: [Bool]
    /// Per channel: when its last `transQueue` requests moved on to their bank's command queue;
    /// per bank: when its last `cmdQueue` requests issued (rings, oldest at the head).
    private var chRing: Ring, bankRing: Ring
    // Ranks: when the next activate may go by tRRD and by tFAW.
    private var rankRRD: [Double], rankFAW: [Double], rankLastBG: [Int32]
    private var rankInBatch: [Bool], ranksInBatch = 0
    /// The latest time any resource is busy until (before refresh derating), its part by limit, and
    /// the front end's last entry time.
    private var end = 0.0, enter = 0.0
    private var endLimit = 0
    private var batchStartEnd = 0.0
    private var batch = DRAMStats()
    private var lastBank = -1, lastRow = -1

    struct Timing: Sendable {
        var burst, ccdS, ccdL, rrdS, rrdL, faw, rcd, ras, rp, rtp, wrRecovery, rtrs, wToR, rToW: Double
    }

    public init(spec: DRAMSpec, mapping: AddressMapping, closedPage: Bool = false, window: Int = 40) {
        self.window = Double(max(1, window))
        cmdQueue = min(8, max(1, window - 1))
        transQueue = max(1, window - cmdQueue)
        self.spec = spec
        self.mapping = mapping
        self.closedPage = closedPage
        let b = Double(spec.burstCycles)
        s = Timing(burst: b, ccdS: max(Double(spec.tCCDS), b), ccdL: max(Double(spec.tCCDL), b),
                   rrdS: Double(spec.tRRDS), rrdL: Double(spec.tRRDL), faw: Double(spec.tFAW), rcd: Double(spec.tRCD),
                   ras: Double(spec.tRAS), rp: Double(spec.tRP), rtp: Double(spec.tRTP),
                   wrRecovery: Double(spec.tCWL + spec.burstCycles + spec.tWR), rtrs: Double(spec.tRTRS),
                   wToR: Double(spec.tCWL + spec.burstCycles + spec.tWTRS), rToW: Double(max(0, spec.tCL + spec.burstCycles + 2 - spec.tCWL)))
        let banks = spec.channels * spec.ranks * spec.banks
        let ranks = spec.channels * spec.ranks
        openRow = .init(repeating: -1, count: banks)
        episodeBursts = .init(repeating: 0, count: banks)
        episodeWrite = .init(repeating: false, count: banks)
        bankFree = .init(repeating: 0, count: banks)
        episodeStart = .init(repeating: 0, count: banks)
        chBus = .init(repeating: 0, count: spec.channels)
        chStarted = .init(repeating: false, count: spec.channels)
        chRun = .init(repeating: 0, count: spec.channels)
        chLastBank = .init(repeating: -1, count: spec.channels)
        chLastRank = .init(repeating: -1, count: spec.channels)
        chLastBG = .init(repeating: -1, count: spec.channels)
        chLastWrite = .init(repeating: false, count: spec.channels)
        chRing = Ring(lanes: spec.channels, size: transQueue)
        bankRing = Ring(lanes: banks, size: cmdQueue)
        rankRRD = .init(repeating: 0, count: ranks)
        rankFAW = .init(repeating: 0, count: ranks)
        rankLastBG = .init(repeating: -1, count: ranks)
        rankInBatch = .init(repeating: false, count: ranks)
    }

    public init(_ config: DRAMConfig) {
        self.init(spec: config.spec, mapping: config.mapping, closedPage: config.pagePolicy == .closed, window: config.queueDepth + 8)
    }

    /// Bus time of a run of `n` consecutive requests to one bank group: the controller interleaves
    /// the last W of a run with the first W of the next run (another bank group, tCCD_S apart), so
    /// only n − W of them pay tCCD_L alone.
    @inline(__always) private func runCost(_ n: Int) -> Double {
        n <= 0 ? 0 : max(Double(n) * s.ccdS, (Double(n) - window) * s.ccdL)
    }

    /// Time a closed row episode of `k` bursts held its bank: activate to the next activate.
    @inline(__always) private func closedEpisode(_ k: Int32, write: Bool) -> Double {
        let lastToPre = write ? s.wrRecovery : s.rtp
        return max(s.ras, s.rcd + Double(k - 1) * s.ccdL + lastToPre) + s.rp
    }

    /// Limits, for `DRAMStats`' attribution: 0 bus, 1 activates, 2 bank.
    @inline(__always) private mutating func extend(_ t: Double, _ limit: Int) {
        if t > end { end = t; endLimit = limit }
    }

    /// Precharges bank `b` (conflict or closed page): its episode ends.
    @inline(__always) private mutating func close(_ b: Int) {
        bankFree[b] = episodeStart[b] + closedEpisode(episodeBursts[b], write: episodeWrite[b])
        extend(bankFree[b], 2)
        episodeBursts[b] = 0
        openRow[b] = -1
        batch.precharges += 1
    }

    /// One request of `spec.requestBytes` at byte `address`.
    public mutating func add(address: Int, write: Bool) {
        let l = mapping.locate(address)
        let rank = l.channel * spec.ranks + l.rank
        let b = (rank * spec.bankGroups + l.bankGroup) * spec.banksPerGroup + l.bank
        let row = Int32(truncatingIfNeeded: l.row)
        let ch = l.channel
        if closedPage && lastBank >= 0 && (lastBank != b || lastRow != Int(row)) && openRow[lastBank] >= 0 {
            close(lastBank)
        }
        lastBank = b; lastRow = Int(row)
        if !rankInBatch[rank] { rankInBatch[rank] = true; ranksInBatch += 1 }
        // In-order front end: enter when the channel's transaction queue has room, not before the
        // previous request; move on when the bank's command queue has room.
        enter = max(enter, chRing.oldest(ch))
        let enter = max(self.enter, bankRing.oldest(b))
        chRing.push(ch, enter)
        var gap = 0.0
        if openRow[b] == row {
            batch.hits += 1
            episodeBursts[b] += 1
        } else {
            if openRow[b] >= 0 {
                batch.conflicts += 1
                close(b)
                // A row switch right after a request to the same bank: the controller's queue holds
                // nothing else for this channel's bus, which waits for the precharge and activate.
                if chLastBank[ch] == Int32(b) { gap += s.rp + s.rcd }
            } else {
                batch.misses += 1
            }
            batch.activates += 1
            openRow[b] = row
            episodeBursts[b] = 1
            episodeStart[b] = max(bankFree[b], enter)
            rankRRD[rank] = max(rankRRD[rank], enter) + (rankLastBG[rank] == Int32(l.bankGroup) ? s.rrdL : s.rrdS)
            rankFAW[rank] = max(rankFAW[rank], enter) + s.faw / 4
            extend(max(rankRRD[rank], rankFAW[rank]), 1)
            rankLastBG[rank] = Int32(l.bankGroup)
        }
        episodeWrite[b] = write
        // Data bus and column-command spacing.
        var step = s.ccdS
        let sameRank = chLastRank[ch] == Int32(l.rank)
        if sameRank && chLastBG[ch] == Int32(l.bankGroup) {
            chRun[ch] += 1
            step = runCost(chRun[ch]) - runCost(chRun[ch] - 1)
        } else {
            chRun[ch] = 1
        }
        if chStarted[ch] {
            if !sameRank { step += s.rtrs }
            if chLastWrite[ch] != write { step += write ? s.rToW : s.wToR }
        }
        gap += step
        chBus[ch] = max(chBus[ch], enter) + gap
        extend(chBus[ch], 0)
        // The bank's share: the episode's i-th burst, and the open episode's time so far.
        let k = Double(episodeBursts[b] - 1)
        let open = episodeStart[b] + s.rcd + k * s.ccdL
        extend(open + s.burst, 2)
        // The request leaves the queue when its bus slot and its bank are done.
        bankRing.push(b, max(chBus[ch], open))
        chStarted[ch] = true
        chLastRank[ch] = Int32(l.rank); chLastBG[ch] = Int32(l.bankGroup); chLastWrite[ch] = write
        chLastBank[ch] = Int32(b)
        if write { batch.writes += 1 } else { batch.reads += 1 }
    }

    /// `count` consecutive requests from `address` (reads): equal to `count` calls of `add`.
    public mutating func addRange(address: Int, count: Int) {
        let req = spec.requestBytes
        for i in 0..<max(0, count) { add(address: address + i * req, write: false) }
    }

    /// Ends the batch: the schedule's advance over it (refresh derating included), which limit
    /// set the schedule's end, and its energy; resets the batch counters.
    public mutating func finishBatch() -> DRAMStats {
        if closedPage, lastBank >= 0, openRow[lastBank] >= 0 { close(lastBank) }
        lastBank = -1
        var out = batch
        batch = DRAMStats()
        let now = end / spec.refreshAvailability
        out.cycles = max(0, now - batchStartEnd)
        batchStartEnd = max(batchStartEnd, now)
        out.activeRankCycles = out.cycles * Double(ranksInBatch)
        for r in rankInBatch.indices { rankInBatch[r] = false }
        ranksInBatch = 0
        if out.cycles > 0 {
            switch endLimit {
            case 1: out.activateLimitedCycles = out.cycles
            case 2: out.bankLimitedCycles = out.cycles
            default: out.busLimitedCycles = out.cycles
            }
        }
        out.activatePJ = Double(out.activates) * spec.activatePJ
        out.burstPJ = Double(out.reads) * spec.readBurstPJ + Double(out.writes) * spec.writeBurstPJ
        return out
    }

    /// Per lane, the last `size` times pushed: `oldest` is the time a full queue frees a slot.
    struct Ring: Sendable {
        let size: Int
        var times: [Double], head: [Int], count: [Int]
        init(lanes: Int, size: Int) {
            self.size = size
            times = .init(repeating: 0, count: lanes * size)
            head = .init(repeating: 0, count: lanes)
            count = .init(repeating: 0, count: lanes)
        }
        @inline(__always) func oldest(_ lane: Int) -> Double { count[lane] == size ? times[lane * size + head[lane]] : 0 }
        @inline(__always) mutating func push(_ lane: Int, _ t: Double) {
            if count[lane] == size {
                times[lane * size + head[lane]] = t
                head[lane] = (head[lane] + 1) % size
            } else {
                times[lane * size + (head[lane] + count[lane]) % size] = t
                count[lane] += 1
            }
        }
    }

    /// Cycles from the first request to its data: tRCD + tCL + burst (paid once per stream).
    public var firstAccessCycles: Int { spec.tRCD + spec.tCL + spec.burstCycles }
}
