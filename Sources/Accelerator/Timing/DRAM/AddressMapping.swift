/// Where a byte address lands in the DRAM: channel, rank, bank group, bank, row, column burst.
///
/// The mapping is a bit order written as DRAMsim3 writes it: six two-letter fields from the most to
/// the least significant bits, `ro` row, `ch` channel, `ra` rank, `bg` bank group, `ba` bank, `co`
/// column; e.g. `rochrababgco` (row-bank-column: a row's bursts are consecutive, then the next bank
/// group) or `rorachcobabg` (bank-interleaved: consecutive bursts go to different bank groups and
/// banks). Below the fields are the log₂(request bytes) offset bits. Each field is
/// log₂(count) bits wide (counts must be powers of two); `co` is log₂(columns / burst length) bits.
/// Addresses beyond the capacity wrap (the row field is taken modulo the row count).
public struct AddressMapping: Sendable, Equatable {
    public enum Field: String, CaseIterable, Sendable { case ro, ch, ra, bg, ba, co }

    public let order: [Field]
    public let offsetBits: Int
    // Shift and mask per field.
    public let chShift: Int, chMask: Int
    public let raShift: Int, raMask: Int
    public let bgShift: Int, bgMask: Int
    public let baShift: Int, baMask: Int
    public let roShift: Int, roMask: Int
    public let coShift: Int, coMask: Int

    /// Named mappings accepted besides the bit-order strings.
    public static let aliases: [String: String] = ["row-bank-column": "rochrababgco", "bank-interleaved": "rorachcobabg"]

    /// Parses `text` (case-insensitive, or an alias) for `spec`; nil plus a reason when it does not
    /// name each of the six fields exactly once or a count is not a power of two.
    public static func parse(_ text: String, spec: DRAMSpec) -> Result<AddressMapping, MappingError> {
        let t = aliases[text.lowercased()] ?? text.lowercased()
        guard t.count == 12 else {
            return .failure(.init("expected six two-letter fields (ro, ch, ra, bg, ba, co, each once) like 'rochrababgco' or one of \(aliases.keys.sorted().joined(separator: ", ")), got '\(text)'"))
        }
        var order: [Field] = []
        let chars = Array(t)
        for i in stride(from: 0, to: 12, by: 2) {
            let name = String(chars[i...i + 1])
            guard let f = Field(rawValue: name) else {
                return .failure(.init("'\(name)' is not a field (ro, ch, ra, bg, ba, co) in '\(text)'"))
            }
            if order.contains(f) { return .failure(.init("field '\(name)' appears twice in '\(text)'")) }
            order.append(f)
        }
        let counts: [(Field, Int, String)] = [(.ch, spec.channels, "channels"), (.ra, spec.ranks, "ranks"), (.bg, spec.bankGroups, "bank_groups"),
                                              (.ba, spec.banksPerGroup, "banks_per_group"), (.ro, spec.rows, "rows"),
                                              (.co, spec.burstsPerRow, "columns / burst_length")]
        var width: [Field: Int] = [:]
        for (f, n, name) in counts {
            guard n >= 1, n & (n - 1) == 0 else {
                return .failure(.init("\(name) = \(n) is not a power of two: the mapping's bit fields cannot cover it"))
            }
            width[f] = n.trailingZeroBitCount
        }
        let req = spec.requestBytes
        guard req >= 1, req & (req - 1) == 0 else {
            return .failure(.init("request size bus_bits/8 × burst_length = \(req) bytes is not a power of two"))
        }
        var shift: [Field: Int] = [:]
        var pos = req.trailingZeroBitCount
        for f in order.reversed() {
            shift[f] = pos
            pos += width[f]!
        }
        guard pos <= 62 else { return .failure(.init("the mapping needs \(pos) address bits (more than 62)")) }
        return .success(AddressMapping(order: order, offsetBits: req.trailingZeroBitCount, shift: shift, width: width))
    }

    private init(order: [Field], offsetBits: Int, shift: [Field: Int], width: [Field: Int]) {
        self.order = order
        self.offsetBits = offsetBits
        func m(_ f: Field) -> Int { (1 << width[f]!) - 1 }
        chShift = shift[.ch]!; chMask = m(.ch)
        raShift = shift[.ra]!; raMask = m(.ra)
        bgShift = shift[.bg]!; bgMask = m(.bg)
        baShift = shift[.ba]!; baMask = m(.ba)
        roShift = shift[.ro]!; roMask = m(.ro)
        coShift = shift[.co]!; coMask = m(.co)
    }

    public var text: String { order.map(\.rawValue).joined() }

    public struct MappingError: Error, Sendable, Equatable {
        public let message: String
        init(_ m: String) { message = m }
    }

    /// The decoded coordinates of an address.
    public struct Location: Sendable, Equatable {
        public var channel: Int, rank: Int, bankGroup: Int, bank: Int, row: Int, column: Int
    }

    public func locate(_ address: Int) -> Location {
        Location(channel: (address >> chShift) & chMask, rank: (address >> raShift) & raMask,
                 bankGroup: (address >> bgShift) & bgMask, bank: (address >> baShift) & baMask,
                 row: (address >> roShift) & roMask, column: (address >> coShift) & coMask)
    }
}
