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

/// The fast DRAM model: per-bank open-row state carried across batches, and per batch (one tile's
/// requests) a closed-form time from counts — no event loop.
///
/// Each request is located by the address mapping and classified against its bank's open row (hit,
/// miss, conflict). Closed page: a bank is precharged after an access unless the next request goes to
/// the same bank and row. A batch takes, per channel, the largest of three limits:
/// - data bus / column timing: requests form runs of consecutive requests to one (rank, bank group);
///   a run of L costs f(L) = max(L · max(burst, tCCD_S), (L − W) · tCCD_L), W = the controller's
///   window (`queue_depth` + 8): the last W requests of a run interleave with the next run's first W;
///   + tRTRS at a rank switch, + the read↔write turnaround (write→read tCWL + burst + tWTR_S,
///   read→write tCL + burst + 2 − tCWL), + tRP + tRCD for a row conflict right after a request to the
///   same bank (nothing else queued for the bus to overlap the precharge and activate with);
/// - activate rate, per rank: max(Σ tRRD_L/tRRD_S between consecutive activates, activates/4 · tFAW);
/// - row cycling, per bank: Σ over its row episodes (an activate and the k hits that follow) of
///   max(tRAS, tRCD + (k−1)·tCCD_L + tRTP) + tRP when closed by a conflict or closed page, and
///   tRCD + (k−1)·tCCD_L + burst while it stays open (charged incrementally across batches);
/// and the batch time is the slowest channel's, divided by 1 − tRFC/tREFI (refresh as an average
/// derating). The first access latency (tRCD + tCL + burst) is not part of a batch: the pipeline pays
/// `memory.dram_latency_cycles` once per stream. Energy: activates × `DRAMSpec.activatePJ` + bursts ×
/// `readBurstPJ`/`writeBurstPJ`.
public struct DRAMModel: Sendable {
    public let spec: DRAMSpec
    public let mapping: AddressMapping
    public let closedPage: Bool
    /// Requests the controller sees at once (queue depth + per-bank command queue).
    public let window: Double
    private let s: Timing
    // Persistent bank state.
    private var openRow: [Int32]
    private var episodeBursts: [Int32]
    private var episodeCharged: [Double]
    private var episodeWrite: [Bool]
    // Per-batch accumulators.
    private var bankBusy: [Double]
    private var touched: [Int32]
    private var bankMax: [Double], rankTouched: [Bool]
    private var isTouched: [Bool]
    private var chRun: [Int]
    private var chLastBank: [Int32]
    private var chBus: [Double], chCount: [Int32], chLastRank: [Int32], chLastBG: [Int32], chLastWrite: [Bool]
    private var rankActGaps: [Double], rankActs: [Int32], rankLastBG: [Int32]
    private var batch = DRAMStats()
    private var lastBank = -1, lastRow = -1

    struct Timing: Sendable {
        var burst, ccdS, ccdL, rrdS, rrdL, faw, rcd, ras, rp, rtp, wrRecovery, rtrs, wToR, rToW: Double
    }

    public init(spec: DRAMSpec, mapping: AddressMapping, closedPage: Bool = false, window: Int = 40) {
        self.window = Double(max(1, window))
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
        episodeCharged = .init(repeating: 0, count: banks)
        episodeWrite = .init(repeating: false, count: banks)
        bankBusy = .init(repeating: 0, count: banks)
        isTouched = .init(repeating: false, count: banks)
        touched = []
        touched.reserveCapacity(banks)
        bankMax = .init(repeating: 0, count: spec.channels)
        rankTouched = .init(repeating: false, count: ranks)
        chBus = .init(repeating: 0, count: spec.channels)
        chCount = .init(repeating: 0, count: spec.channels)
        chRun = .init(repeating: 0, count: spec.channels)
        chLastBank = .init(repeating: -1, count: spec.channels)
        chLastRank = .init(repeating: -1, count: spec.channels)
        chLastBG = .init(repeating: -1, count: spec.channels)
        chLastWrite = .init(repeating: false, count: spec.channels)
        rankActGaps = .init(repeating: 0, count: ranks)
        rankActs = .init(repeating: 0, count: ranks)
        rankLastBG = .init(repeating: -1, count: ranks)
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

    @inline(__always) private mutating func touch(_ b: Int) {
        if !isTouched[b] { isTouched[b] = true; touched.append(Int32(b)) }
    }

    /// Precharges bank `b` (conflict or closed page), charging its finished episode.
    @inline(__always) private mutating func close(_ b: Int) {
        touch(b)
        bankBusy[b] += closedEpisode(episodeBursts[b], write: episodeWrite[b]) - episodeCharged[b]
        episodeCharged[b] = 0
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
        if closedPage && lastBank >= 0 && (lastBank != b || lastRow != Int(row)) && openRow[lastBank] >= 0 {
            close(lastBank)
        }
        lastBank = b; lastRow = Int(row)
        touch(b)
        if openRow[b] == row {
            batch.hits += 1
            episodeBursts[b] += 1
        } else {
            if openRow[b] >= 0 {
                batch.conflicts += 1
                close(b)
                // A row switch right after a request to the same bank: the controller's queue holds
                // nothing else for this channel's bus, which waits for the precharge and activate.
                if chLastBank[l.channel] == Int32(b) { chBus[l.channel] += s.rp + s.rcd }
            } else {
                batch.misses += 1
            }
            batch.activates += 1
            openRow[b] = row
            episodeBursts[b] = 1
            episodeCharged[b] = 0
            rankActGaps[rank] += rankLastBG[rank] == Int32(l.bankGroup) ? s.rrdL : s.rrdS
            rankActs[rank] += 1
            rankLastBG[rank] = Int32(l.bankGroup)
        }
        episodeWrite[b] = write
        // Data bus and column-command spacing: a run of L requests to one bank group costs
        // f(L) = max(L · max(burst, tCCD_S), (L − W) · tCCD_L), charged as f(L) − f(L − 1).
        let ch = l.channel
        var gap = s.ccdS
        let sameRank = chLastRank[ch] == Int32(l.rank)
        if sameRank && chLastBG[ch] == Int32(l.bankGroup) {
            chRun[ch] += 1
            gap = runCost(chRun[ch]) - runCost(chRun[ch] - 1)
        } else {
            chRun[ch] = 1
        }
        if chCount[ch] > 0 {
            if !sameRank { gap += s.rtrs }
            if chLastWrite[ch] != write { gap += write ? s.rToW : s.wToR }
        }
        chBus[ch] += gap
        chCount[ch] += 1
        chLastRank[ch] = Int32(l.rank); chLastBG[ch] = Int32(l.bankGroup); chLastWrite[ch] = write
        chLastBank[ch] = Int32(b)
        if write { batch.writes += 1 } else { batch.reads += 1 }
    }

    /// `count` consecutive requests from `address` (reads): after the first request of each DRAM
    /// row, the rest of that row's requests are hits charged in bulk — O(DRAM rows), not O(requests).
    /// Equal to `count` calls of `add` (tested).
    public mutating func addRange(address: Int, count: Int) {
        let req = spec.requestBytes
        var a = address, left = count
        while left > 0 {
            add(address: a, write: false)
            left -= 1
            // Requests left in this DRAM row segment: the column field counts up to its mask, provided
            // the bits below `co` are only the offset (col is the lowest field).
            let l = mapping.locate(a)
            guard mapping.coShift == mapping.offsetBits, left > 0 else { a += req; continue }
            let k = min(left, mapping.coMask - l.column)
            if k > 0 {
                let b = ((l.channel * spec.ranks + l.rank) * spec.bankGroups + l.bankGroup) * spec.banksPerGroup + l.bank
                batch.hits += k
                batch.reads += k
                episodeBursts[b] += Int32(k)
                episodeWrite[b] = false
                let ch = l.channel
                chBus[ch] += runCost(chRun[ch] + k) - runCost(chRun[ch])
                chRun[ch] += k
                chCount[ch] += Int32(k)
                left -= k
                a += k * req
            }
            a += req
        }
    }

    /// Ends the batch: its time (slowest channel), limits and energy; resets the batch counters.
    public mutating func finishBatch() -> DRAMStats {
        if closedPage, lastBank >= 0, openRow[lastBank] >= 0 { close(lastBank) }
        lastBank = -1
        for t in touched {
            let b = Int(t)
            if openRow[b] >= 0 {
                let partial = s.rcd + Double(episodeBursts[b] - 1) * s.ccdL + s.burst
                bankBusy[b] += max(0, partial - episodeCharged[b])
                episodeCharged[b] = max(partial, episodeCharged[b])
            }
        }
        var worst = 0.0, worstBus = 0.0, worstAct = 0.0, worstBank = 0.0
        let banksPerChannel = spec.ranks * spec.banks
        var ranksTouched = 0
        for t in touched {
            let b = Int(t)
            let ch = b / banksPerChannel, rank = b / spec.banks
            bankMax[ch] = max(bankMax[ch], bankBusy[b])
            if !rankTouched[rank] { rankTouched[rank] = true; ranksTouched += 1 }
            bankBusy[b] = 0
            isTouched[b] = false
        }
        for t in touched { rankTouched[Int(t) / spec.banks] = false }
        touched.removeAll(keepingCapacity: true)
        for ch in 0..<spec.channels where chCount[ch] > 0 || bankMax[ch] > 0 {
            var act = 0.0
            for r in 0..<spec.ranks {
                let i = ch * spec.ranks + r
                act = max(act, rankActGaps[i], Double(rankActs[i]) / 4 * s.faw)
                rankActGaps[i] = 0; rankActs[i] = 0
            }
            let bus = chBus[ch], bank = bankMax[ch]
            bankMax[ch] = 0
            let t = max(bus, act, bank)
            if t > worst { worst = t; worstBus = bus; worstAct = act; worstBank = bank }
            chBus[ch] = 0; chCount[ch] = 0
        }
        var out = batch
        batch = DRAMStats()
        out.cycles = worst / spec.refreshAvailability
        out.activeRankCycles = out.cycles * Double(ranksTouched)
        if worst > 0 {
            if worstAct >= worstBus && worstAct >= worstBank { out.activateLimitedCycles = out.cycles }
            else if worstBank > worstBus { out.bankLimitedCycles = out.cycles }
            else { out.busLimitedCycles = out.cycles }
        }
        out.activatePJ = Double(out.activates) * spec.activatePJ
        out.burstPJ = Double(out.reads) * spec.readBurstPJ + Double(out.writes) * spec.writeBurstPJ
        return out
    }

    /// Cycles from the first request to its data: tRCD + tCL + burst (paid once per stream).
    public var firstAccessCycles: Int { spec.tRCD + spec.tCL + spec.burstCycles }
}
