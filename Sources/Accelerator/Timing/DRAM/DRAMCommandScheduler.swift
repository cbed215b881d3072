/// The detailed DRAM model, for checking the fast one: an event-driven list scheduler with the
/// controller's lookahead window, one event per request (no cycle loop).
///
/// A request becomes visible to the controller when it enters the window of `window` requests per
/// channel (DRAMsim3: its 32-entry transaction queue plus an 8-entry per-bank command queue): at the
/// issue time of the request that leaves room for it. Visible requests issue out of order across
/// banks and in order within a bank: a request's column command goes at the earliest cycle that
/// satisfies its bank (tRCD after its ACT; PRE after tRAS and tRTP / write recovery, then tRP before
/// the ACT), its rank (tRRD_S/L, the four-activate window tFAW, all-bank refresh every tREFI taking
/// tRFC, ranks staggered), its bank group (tCCD_L), the channel (tCCD_S, rank switch tRTRS, read↔write
/// turnaround) and a free slot on the data bus (slots of max(burst, tCCD_S) cycles). The command bus
/// (one command per cycle) is not modelled. Closed page: a bank is precharged after an access unless
/// the next request goes to the same bank and row. Time is in DRAM clock cycles; a batch costs the
/// advance of the last data transfer's end.
public struct DRAMCommandScheduler: Sendable {
    public let spec: DRAMSpec
    public let mapping: AddressMapping
    public let closedPage: Bool
    public let window: Int
    private let slot: Int
    private var openRow: [Int], readyAct: [Int], readyCol: [Int], readyPre: [Int], bankLastCol: [Int]
    private var rankActs: [[Int]], rankLastActBG: [Int], nextRefresh: [Int]
    private var bgLastCol: [Int]
    /// Per channel: the `window` largest issue times so far (a min-heap): its minimum is the time the
    /// next request enters the window.
    private var heaps: [[Int]]
    /// Per channel: data-bus slot calendar (ring of slot indices).
    private var busRing: [[Int]]
    private let ringSize = 1 << 16
    private var end = 0, batchStart = 0
    private var batch = DRAMStats()
    private var lastBank = -1, lastRow = -1
    private var ranksTouched = Set<Int>()

    public init(spec: DRAMSpec, mapping: AddressMapping, closedPage: Bool = false, window: Int = 40) {
        self.spec = spec
        self.mapping = mapping
        self.closedPage = closedPage
        self.window = max(1, window)
        slot = max(spec.burstCycles, spec.tCCDS, 1)
        let banks = spec.channels * spec.ranks * spec.banks, ranks = spec.channels * spec.ranks
        openRow = .init(repeating: -1, count: banks)
        readyAct = .init(repeating: 0, count: banks)
        readyCol = .init(repeating: 0, count: banks)
        readyPre = .init(repeating: 0, count: banks)
        bankLastCol = .init(repeating: 0, count: banks)
        rankActs = .init(repeating: [], count: ranks)
        rankLastActBG = .init(repeating: -1, count: ranks)
        nextRefresh = (0..<ranks).map { spec.tREFI + ($0 % spec.ranks) * spec.tREFI / spec.ranks }
        bgLastCol = .init(repeating: Int.min / 2, count: ranks * spec.bankGroups)
        heaps = .init(repeating: [], count: spec.channels)
        busRing = .init(repeating: .init(repeating: -1, count: 1 << 16), count: spec.channels)
    }

    /// The window is the config's `queue_depth` plus DRAMsim3's 8-entry per-bank command queue.
    public init(_ config: DRAMConfig) {
        self.init(spec: config.spec, mapping: config.mapping, closedPage: config.pagePolicy == .closed, window: config.queueDepth + 8)
    }

    private mutating func precharge(_ b: Int, at t: Int) {
        readyAct[b] = max(readyAct[b], t + spec.tRP)
        openRow[b] = -1
        batch.precharges += 1
    }

    private mutating func pushIssue(_ ch: Int, _ t: Int) {
        var h = heaps[ch]
        heaps[ch] = []
        if h.count < window {
            h.append(t)
            var i = h.count - 1
            while i > 0 { let p = (i - 1) / 2; if h[p] <= h[i] { break }; h.swapAt(p, i); i = p }
        } else if t > h[0] {
            h[0] = t
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < h.count && h[l] < h[m] { m = l }
                if r < h.count && h[r] < h[m] { m = r }
                if m == i { break }
                h.swapAt(i, m); i = m
            }
        }
        heaps[ch] = h
    }

    public mutating func add(address: Int, write: Bool) {
        let l = mapping.locate(address)
        let rank = l.channel * spec.ranks + l.rank
        let b = (rank * spec.bankGroups + l.bankGroup) * spec.banksPerGroup + l.bank
        let ch = l.channel
        if closedPage && lastBank >= 0 && (lastBank != b || lastRow != l.row) && openRow[lastBank] >= 0 {
            precharge(lastBank, at: readyPre[lastBank])
        }
        lastBank = b; lastRow = l.row
        ranksTouched.insert(rank)
        let enter = heaps[ch].count >= window ? heaps[ch][0] : 0
        // All-bank refresh of this rank, when due before the request enters.
        while enter >= nextRefresh[rank] {
            let first = rank * spec.banks
            var t = nextRefresh[rank]
            for i in first..<first + spec.banks where openRow[i] >= 0 { t = max(t, readyPre[i] + spec.tRP); openRow[i] = -1 }
            for i in first..<first + spec.banks { readyAct[i] = max(readyAct[i], t + spec.tRFC) }
            nextRefresh[rank] += spec.tREFI
        }
        if openRow[b] == l.row {
            batch.hits += 1
        } else {
            if openRow[b] >= 0 {
                batch.conflicts += 1
                precharge(b, at: max(enter, readyPre[b]))
            } else {
                batch.misses += 1
            }
            var tAct = max(enter, readyAct[b])
            if let last = rankActs[rank].last {
                tAct = max(tAct, last + (rankLastActBG[rank] == l.bankGroup ? spec.tRRDL : spec.tRRDS))
            }
            if rankActs[rank].count == 4 { tAct = max(tAct, rankActs[rank][0] + spec.tFAW); rankActs[rank].removeFirst() }
            rankActs[rank].append(tAct)
            rankLastActBG[rank] = l.bankGroup
            openRow[b] = l.row
            readyCol[b] = tAct + spec.tRCD
            readyPre[b] = max(readyPre[b], tAct + spec.tRAS)
            readyAct[b] = tAct + spec.tRAS + spec.tRP
            batch.activates += 1
        }
        let g = rank * spec.bankGroups + l.bankGroup
        var t = max(enter, readyCol[b], bankLastCol[b], bgLastCol[g] + max(spec.burstCycles, spec.tCCDL))
        // A free data-bus slot at or after t.
        var k = (t + slot - 1) / slot
        while busRing[ch][k & (ringSize - 1)] == k { k += 1 }
        busRing[ch][k & (ringSize - 1)] = k
        t = k * slot
        bankLastCol[b] = t
        bgLastCol[g] = max(bgLastCol[g], t)
        pushIssue(ch, t)
        readyPre[b] = max(readyPre[b], write ? t + spec.tCWL + spec.burstCycles + spec.tWR : t + spec.tRTP)
        end = max(end, t + (write ? spec.tCWL : spec.tCL) + spec.burstCycles)
        if write { batch.writes += 1 } else { batch.reads += 1 }
    }

    public mutating func finishBatch() -> DRAMStats {
        var out = batch
        batch = DRAMStats()
        out.cycles = Double(end - batchStart)
        out.activeRankCycles = out.cycles * Double(ranksTouched.count)
        ranksTouched.removeAll(keepingCapacity: true)
        batchStart = end
        out.busLimitedCycles = out.cycles
        out.activatePJ = Double(out.activates) * spec.activatePJ
        out.burstPJ = Double(out.reads) * spec.readBurstPJ + Double(out.writes) * spec.writeBurstPJ
        return out
    }

    /// Cycle at which the last data transfer so far ends.
    public var completionCycle: Int { end }
}

/// Either DRAM model behind one interface (concrete optionals, mutated in place: no existential and
/// no copy in the per-request path).
public struct DRAMSystem: Sendable {
    public private(set) var fast: DRAMModel?
    public private(set) var detailed: DRAMCommandScheduler?

    public init(_ config: DRAMConfig) {
        if config.mode == .fast { fast = DRAMModel(config) } else { detailed = DRAMCommandScheduler(config) }
    }

    @inline(__always) public mutating func add(address: Int, write: Bool) {
        if fast != nil { fast!.add(address: address, write: write) } else { detailed!.add(address: address, write: write) }
    }

    /// `count` consecutive read requests from `address`.
    public mutating func addRange(address: Int, count: Int) {
        if fast != nil { fast!.addRange(address: address, count: count); return }
        for i in 0..<count { detailed!.add(address: address + i * detailed!.spec.requestBytes, write: false) }
    }

    public mutating func finishBatch() -> DRAMStats {
        fast != nil ? fast!.finishBatch() : detailed!.finishBatch()
    }
}
