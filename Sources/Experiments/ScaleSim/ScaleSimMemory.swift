import AttnCore

/// SCALE-Sim 3.0.0's double-buffered SRAMs in CALC ("estimate bandwidth") mode, reproduced
/// operation for operation so that its DRAM bandwidths, start/stop cycles and stalls come out equal.
/// Only counts and cycles are kept: addresses matter only for which requests are new.
///
/// Read buffers (`memory/read_buffer_estimate_bw.py`): every read hits (latency 1). New addresses
/// are grouped in order of first use into sets of ⌊words/100⌋; the buffer holds 50 sets active and
/// 50 prefetching. When the 50th set after the active window fills, the window moves by 50 sets
/// and those sets are "prefetched" from DRAM over the cycles since the previous move, at the
/// bandwidth that takes (the first 50 at 10 words/cycle, ending two cycles before the first read).
/// At the end the remaining sets are prefetched the same way. An address is re-fetched when it is
/// used again after its set left the active window.
struct ScaleSimReadBuffer {
    let itemsPerSet: Int
    let setsPerHalf = 50
    let defaultBandwidth = 10

    /// Set id in which each address was last placed (`Int.min`: never).
    private var lastSet: [Int]
    private var currentSetId = 0
    private var elemsCurrentSet = 0
    private var readStart = 0
    private var readEnd: Int
    private var prefetchSetStart = -1
    private var lastPrefetchStart = -2
    private var lastPrefetchEnd = -1
    private var firstRequestCycle = 0
    private var firstRequestSeen = false
    private var activePrefetchDone = false

    /// DRAM words read, and the cycles of the first and last DRAM trace rows.
    private(set) var dramReads = 0
    private(set) var dramStartCycle = 0
    private(set) var dramStopCycle = 0
    private var traceValid = false

    init(sizeKB: Int, addressCount: Int) {
        itemsPerSet = sizeKB * 1024 / 100
        readEnd = setsPerHalf - 1
        lastSet = Array(repeating: Int.min, count: addressCount)
    }

    /// One demand row of the array at `cycle`: its first `count` entries are the requested
    /// addresses (≥ 0), in SCALE-Sim's column order; the empty (−1) entries are already left out.
    mutating func service(_ addresses: UnsafeBufferPointer<Int>, count: Int, cycle: Int) throws(AttnError) {
        if !firstRequestSeen && count > 0 {
            firstRequestCycle = cycle
            firstRequestSeen = true
        }
        for i in 0..<count {
            let addr = addresses[i]
            let s = lastSet[addr]
            let end = min(currentSetId, readEnd + 1)
            if s >= readStart && s < end { continue }          // hit in the active window
            if s == currentSetId { continue }                   // already in the set being filled
            lastSet[addr] = currentSetId
            elemsCurrentSet += 1
            if elemsCurrentSet == itemsPerSet {
                currentSetId += 1
                elemsCurrentSet = 0
                if currentSetId == readEnd + 1 { try moveWindow(cycle: cycle) }
            }
        }
    }

    private mutating func moveWindow(cycle: Int) throws(AttnError) {
        if !activePrefetchDone {
            lastPrefetchEnd = firstRequestCycle - 1 - 1
            let cycles = ceilDiv(setsPerHalf * itemsPerSet, defaultBandwidth)
            lastPrefetchStart = lastPrefetchEnd - cycles + 1
            try prefetch(words: setsPerHalf * itemsPerSet, bandwidth: defaultBandwidth)
            prefetchSetStart = readEnd + 1
            activePrefetchDone = true
        } else {
            try prefetch(words: setsPerHalf * itemsPerSet, bandwidth: nil)
            prefetchSetStart += setsPerHalf
        }
        readStart += setsPerHalf
        readEnd += setsPerHalf
        lastPrefetchStart = lastPrefetchEnd + 1
        lastPrefetchEnd = cycle
    }

    /// SCALE-Sim's `complete_all_prefetches`.
    mutating func completeAllPrefetches() throws(AttnError) {
        let words: Int
        if !activePrefetchDone {
            // Sets 0...currentSetId (the last one partial, or dropped when empty).
            let sets = elemsCurrentSet > 0 ? currentSetId + 1 : currentSetId
            words = currentSetId * itemsPerSet + elemsCurrentSet
            lastPrefetchEnd = -1 - 1
            let cycles = ceilDiv(sets * itemsPerSet, defaultBandwidth)
            lastPrefetchStart = lastPrefetchEnd - cycles + 1
            try prefetch(words: words, bandwidth: defaultBandwidth)
            activePrefetchDone = true
        } else {
            words = (currentSetId - prefetchSetStart) * itemsPerSet + elemsCurrentSet
            let sets = elemsCurrentSet > 0 ? currentSetId - prefetchSetStart + 1 : currentSetId - prefetchSetStart
            let cycles = lastPrefetchEnd - lastPrefetchStart + 1
            guard cycles > 0 else { throw Self.unsupported }
            // SCALE-Sim sizes the bandwidth for whole sets even when the last one is partial.
            try prefetch(words: words, bandwidth: ceilDiv(sets * itemsPerSet, cycles))
        }
        guard traceValid else { throw Self.unsupported }
    }

    /// Reads `words` over the cycles [lastPrefetchStart, lastPrefetchEnd]; the DRAM trace rows are
    /// answered one cycle later (read port latency 1). `bandwidth` nil: just enough for the window.
    private mutating func prefetch(words: Int, bandwidth: Int?) throws(AttnError) {
        let cycles = lastPrefetchEnd - lastPrefetchStart + 1
        guard cycles > 0 else { throw Self.unsupported }
        let bw = bandwidth ?? ceilDiv(words, cycles)
        guard words <= cycles * bw else { throw Self.unsupported }
        dramReads += words
        if !traceValid {
            dramStartCycle = lastPrefetchStart + 1
            traceValid = true
        }
        dramStopCycle = lastPrefetchEnd + 1
    }

    /// Where SCALE-Sim itself would fail (a reshape or an index error): we stop instead of guessing.
    static let unsupported = AttnError.runtime("SCALE-Sim 3.0.0's memory model fails on this layer (a prefetch window of no cycles); not reproduced")
}

/// SCALE-Sim 3.0.0's OFMAP write buffer (`memory/write_buffer.py`): writes fill lines of
/// `bandwidth` words; half the buffer is active, half drains. When more than the drain half is
/// occupied a drain starts: ⌈drain half / bandwidth⌉ lines (the partial line included, padded) go
/// to DRAM, one line per cycle from the current cycle; a write that finds the buffer full while a
/// drain is running stalls until the drain ends. At the end everything left is drained.
/// SCALE-Sim subtracts the padding only of the last line of each drain; so do we.
struct ScaleSimWriteBuffer {
    let totalWords: Int
    let drainWords: Int
    let bandwidth: Int

    private var freeSpace: Int
    /// Words in each line handed to the DRAM side (full lines have `bandwidth`).
    private var lines: [Int32] = []
    private var lineFill = 0
    private var drainStartLine = 0
    private var drainEndCycle = 0

    private(set) var dramWrites = 0
    private(set) var dramStartCycle = Int.max
    private(set) var dramStopCycle = Int.min
    private(set) var traceValid = false

    init(sizeKB: Int, bandwidth: Int) {
        totalWords = sizeKB * 1024
        let active = (totalWords + 1) / 2          // ⌈total · 0.5⌉
        drainWords = totalWords - active
        self.bandwidth = bandwidth
        freeSpace = totalWords
    }

    /// `count` writes requested at `cycle`; returns the cycle at which they are done.
    mutating func service(count: Int, cycle: Int) throws(AttnError) -> Int {
        var current = cycle
        for _ in 0..<count {
            lineFill += 1
            freeSpace -= 1
            if lineFill == bandwidth {
                lines.append(Int32(lineFill))
                lineFill = 0
            }
            if current < drainEndCycle {
                if freeSpace <= 0 { current = drainEndCycle }
            } else if freeSpace < totalWords - drainWords {
                flushPartialLine()
                drainEndCycle = try drain(startCycle: current)
            }
        }
        return current
    }

    private mutating func flushPartialLine() {
        if lineFill > 0 {
            lines.append(Int32(lineFill))
            lineFill = 0
        }
    }

    private mutating func drain(startCycle: Int) throws(AttnError) -> Int {
        let linesPerDrain = ceilDiv(drainWords, bandwidth)
        let end = min(drainStartLine + linesPerDrain, lines.count)
        let n = end - drainStartLine
        guard n > 0 else { throw ScaleSimReadBuffer.unsupported }
        let words = n * bandwidth - (bandwidth - Int(lines[end - 1]))
        dramWrites += words
        dramStartCycle = min(dramStartCycle, startCycle)
        dramStopCycle = max(dramStopCycle, startCycle + n - 1)
        traceValid = true
        freeSpace += words
        drainStartLine = end
        return startCycle + n - 1
    }

    /// SCALE-Sim's `empty_all_buffers(cycle)`.
    mutating func emptyAll(cycle: Int) throws(AttnError) {
        flushPartialLine()
        var cycle = cycle
        while drainStartLine < lines.count {
            drainEndCycle = try drain(startCycle: cycle)
            cycle = drainEndCycle + 1
        }
        guard traceValid else { throw ScaleSimReadBuffer.unsupported }
    }
}

@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
