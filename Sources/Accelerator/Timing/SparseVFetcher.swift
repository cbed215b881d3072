/// The sparse V-cache fetcher: for each query tile it fetches from DRAM only the V rows that at
/// least one kept score of the tile needs — the union of kept key positions over the tile's rows and
/// the GQA group's query heads — skipping rows still held in its V buffer. V rows of one KV head are
/// contiguous in DRAM (row r at r · rowBytes); a fetch reads whole bursts, so the bytes moved are the
/// distinct bursts the fetched rows touch × burst size. Without `sparse` (or without pruning) every
/// visible row is fetched. The index of needed rows costs metadata: a bitmask of the visible keys,
/// or a list of 16/32-bit row indices.
public struct SparseVFetcher: Sendable, Equatable {
    public enum Index: String, Sendable, CaseIterable {
        case bitmask, list
    }

    /// Fetch only the needed rows (false: dense fetch of every visible row).
    public var sparse = true
    /// V buffer capacity in KiB (0: no reuse across tiles or decode steps).
    public var bufferKiB: Double = 32
    public var index: Index = .bitmask

    public init(sparse: Bool = true, bufferKiB: Double = 32, index: Index = .bitmask) {
        self.sparse = sparse
        self.bufferKiB = bufferKiB
        self.index = index
    }

    /// Index bytes for one tile with `keys` visible keys of which `needed` are fetched.
    public func indexBytes(keys: Int, needed: Int) -> Int {
        switch index {
        case .bitmask: return (keys + 7) / 8
        case .list: return needed * (keys <= 65_536 ? 2 : 4)
        }
    }

    /// Distinct `burst`-byte bursts touched by rows `rows` (ascending) of `rowBytes` each.
    public static func bursts(rows: [Int], rowBytes: Int, burst: Int) -> Int {
        var count = 0
        var last = -1
        for r in rows {
            let first = (r * rowBytes) / burst
            let end = ((r + 1) * rowBytes - 1) / burst
            let start = max(first, last + 1)
            if end >= start { count += end - start + 1 }
            last = max(last, end)
        }
        return count
    }
}

/// The V fetcher over one head group's phase: which V rows each key tile brings from DRAM. Sparse
/// fetches (pruning on, `sparse`) request the group's kept positions and keep rows in an LRU buffer;
/// dense fetches request every visible row, and their prefix scans have closed-form misses.
public struct VFetchStream: Sendable {
    public let fetcher: SparseVFetcher
    /// Fetch only the needed rows (`fetcher.sparse` and a pruned activity).
    public let sparse: Bool
    let rowBytes: Int, burstBytes: Int, pruning: Bool
    var cache: RowCache
    var dense: PrefixScanBuffer
    /// Rows a dense fetch misses in the current query tile.
    var denseMiss = 0..<0
    var requestedInQueryTile = 0
    var needed: [Int] = []
    /// Rows the last sparse fetch missed (ascending), for the DRAM address stream.
    public private(set) var missRows: [Int] = []

    public init(fetcher: SparseVFetcher, sparse: Bool, rowBytes: Int, burstBytes: Int, maxKeys: Int, pruning: Bool) {
        self.fetcher = fetcher
        self.sparse = sparse
        self.rowBytes = rowBytes
        self.burstBytes = burstBytes
        self.pruning = pruning
        let capacity = Int(fetcher.bufferKiB * 1024) / max(1, rowBytes)
        cache = RowCache(capacity: sparse ? capacity : 0, universe: sparse ? maxKeys : 0)
        dense = PrefixScanBuffer(capacity: capacity)
        needed.reserveCapacity(maxKeys)
    }

    /// What one key tile's fetch moved.
    public struct Fetch: Sendable, Equatable {
        /// Rows missed (fetched), their bursts, and rows requested (kept union, or every visible row).
        public var missed = 0, bursts = 0, requested = 0
        /// The rows a dense fetch would miss, and their bursts.
        public var denseRows = 0..<0
        public var denseBursts = 0
        /// Bytes of the index of needed rows, written with the query tile's last key tile.
        public var indexBytes = 0
    }

    /// Starts a query tile whose longest row sees `keys` keys.
    public mutating func startQueryTile(keys: Int) {
        denseMiss = dense.scan(keys)
        requestedInQueryTile = 0
    }

    /// The V fetcher on one key tile.
    public mutating func fetch(_ t: TileWork) -> Fetch {
        var f = Fetch()
        f.denseRows = denseMiss.clamped(to: t.keyRange)
        f.denseBursts = PrefixScanBuffer.bursts(f.denseRows, rowBytes: rowBytes, burst: burstBytes)
        if sparse {
            needed.removeAll(keepingCapacity: true)
            for w in t.words {
                var bits = t.unionWords[w]
                while bits != 0 {
                    needed.append(w * 64 + bits.trailingZeroBitCount)
                    bits &= bits - 1
                }
            }
            missRows.removeAll(keepingCapacity: true)
            for row in needed where !cache.access(row) { missRows.append(row) }
            f.missed = missRows.count
            f.bursts = SparseVFetcher.bursts(rows: missRows, rowBytes: rowBytes, burst: burstBytes)
            f.requested = needed.count
        } else {
            f.missed = f.denseRows.count
            f.bursts = f.denseBursts
            f.requested = t.width
        }
        requestedInQueryTile += f.requested
        f.indexBytes = t.isLast && fetcher.sparse && pruning ? fetcher.indexBytes(keys: t.keys, needed: requestedInQueryTile) : 0
        return f
    }
}

/// A least-recently-used set of row ids 0..<universe with a capacity in rows, O(1) per access.
/// Models the V (and K) buffers: a hit is not refetched.
public struct RowCache: Sendable {
    public let capacity: Int
    private var prev: [Int32]
    private var next: [Int32]
    private var present: [Bool]
    private var head: Int32 = -1   // most recent
    private var tail: Int32 = -1   // least recent
    public private(set) var count = 0

    public init(capacity: Int, universe: Int) {
        self.capacity = max(0, capacity)
        prev = .init(repeating: -1, count: universe)
        next = .init(repeating: -1, count: universe)
        present = .init(repeating: false, count: universe)
    }

    public func contains(_ row: Int) -> Bool { present[row] }

    private mutating func unlink(_ i: Int32) {
        let p = prev[Int(i)], n = next[Int(i)]
        if p >= 0 { next[Int(p)] = n } else { head = n }
        if n >= 0 { prev[Int(n)] = p } else { tail = p }
        prev[Int(i)] = -1
        next[Int(i)] = -1
    }

    private mutating func pushFront(_ i: Int32) {
        next[Int(i)] = head
        prev[Int(i)] = -1
        if head >= 0 { prev[Int(head)] = i }
        head = i
        if tail < 0 { tail = i }
    }

    /// Marks `row` used; returns true on a hit. A miss inserts it (evicting the least recent).
    @discardableResult
    public mutating func access(_ row: Int) -> Bool {
        let i = Int32(row)
        if present[row] {
            unlink(i)
            pushFront(i)
            return true
        }
        guard capacity > 0 else { return false }
        if count == capacity {
            let victim = tail
            unlink(victim)
            present[Int(victim)] = false
            count -= 1
        }
        pushFront(i)
        present[row] = true
        count += 1
        return false
    }
}

/// An LRU row buffer that only ever sees prefix scans — rows 0..<keys in order, with keys never
/// decreasing (dense K and V fetches: causal prefill tiles, decode steps, bidirectional tiles). Its
/// misses have a closed form, so a tile costs O(1) instead of O(keys):
/// - if the previous scan of `last` rows fit (last ≤ capacity), rows 0..<last are still buffered and
///   only last..<keys miss;
/// - otherwise the previous scan left rows last − capacity..<last, which this scan evicts before it
///   reaches them (LRU thrashing): every row misses.
/// Equal to `RowCache` on such scans (tested against it).
public struct PrefixScanBuffer: Sendable, Equatable {
    public let capacity: Int
    private var last = 0

    public init(capacity: Int) { self.capacity = max(0, capacity) }

    /// Scans rows 0..<keys; returns the rows that miss (a contiguous range).
    public mutating func scan(_ keys: Int) -> Range<Int> {
        precondition(keys >= last, "prefix scans must not shrink")
        defer { last = keys }
        if capacity == 0 { return 0..<keys }
        return last <= capacity ? last..<keys : 0..<keys
    }

    /// Distinct bursts touched by the contiguous rows `rows` of `rowBytes` each.
    public static func bursts(_ rows: Range<Int>, rowBytes: Int, burst: Int) -> Int {
        guard !rows.isEmpty else { return 0 }
        return ((rows.upperBound * rowBytes + burst - 1) / burst) - (rows.lowerBound * rowBytes) / burst
    }
}
