import AttnCore
import Foundation

/// A request stream: byte addresses and read/write flags, in issue order.
public struct DRAMRequests: Sendable, Equatable {
    public var addresses: [Int] = []
    public var writes: [Bool] = []

    public init() {}

    public var count: Int { addresses.count }

    public mutating func append(_ address: Int, write: Bool = false) {
        addresses.append(address)
        writes.append(write)
    }

    /// Parses DRAMsim3's trace format: `0x<hex> READ|WRITE <cycle>` per line (cycles ignored: the
    /// replay issues requests as fast as the DRAM takes them).
    public static func parse(_ text: String, file: String) throws(AttnError) -> DRAMRequests {
        var r = DRAMRequests()
        var n = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            n += 1
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.isEmpty { continue }
            guard f.count >= 2, f[0].hasPrefix("0x") || f[0].hasPrefix("0X"), let a = Int(f[0].dropFirst(2), radix: 16), a >= 0 else {
                throw AttnError.input(file: "\(file):\(n)", item: nil, message: "expected '0x<hex address> READ|WRITE <cycle>', got '\(line)'")
            }
            switch f[1] {
            case "READ": r.append(a)
            case "WRITE": r.append(a, write: true)
            default: throw AttnError.input(file: "\(file):\(n)", item: nil, message: "expected READ or WRITE, got '\(f[1])'")
            }
        }
        return r
    }

    /// The trace text (every request at cycle 0: issued as fast as the DRAM accepts).
    public var traceText: String {
        var s = ""
        for i in 0..<count { s += "0x\(String(addresses[i], radix: 16, uppercase: true)) \(writes[i] ? "WRITE" : "READ") 0\n" }
        return s
    }

    /// `count` consecutive requests from address 0 (a dense sequential stream).
    public static func sequential(_ spec: DRAMSpec, count: Int) -> DRAMRequests {
        var r = DRAMRequests()
        for i in 0..<count { r.append(i * spec.requestBytes) }
        return r
    }

    /// The bank-conflict worst case: every request to channel 0, rank 0, bank 0 of `mapping`, each
    /// to a different row than the one before.
    public static func bankConflict(_ spec: DRAMSpec, mapping: AddressMapping, count: Int) -> DRAMRequests {
        var r = DRAMRequests()
        for i in 0..<count { r.append(((i % (mapping.roMask + 1)) << mapping.roShift)) }
        return r
    }
}

/// Replays a request stream through the fast and the detailed model, as one batch each: the figures
/// compared with DRAMsim3 (`Scripts/dramsim3_golden.sh`, `Tests/Fixtures/dram/`).
public enum DRAMTraceReplay {
    public struct Result: Sendable {
        /// Total DRAM cycles from the first request to the last data: the fast model's batch time
        /// plus its first-access latency (tRCD + tCL + burst); the detailed model's last data end.
        public var cycles: Double
        public var stats: DRAMStats
        /// Activate and burst energy plus background (IDD3N for ranks in use, IDD2N for idle ones) and
        /// refresh energy over `cycles`, pJ.
        public var energyPJ: Double
    }

    public static func run(_ requests: DRAMRequests, config: DRAMConfig) -> Result {
        var sys = DRAMSystem(config)
        for i in 0..<requests.count { sys.add(address: requests.addresses[i], write: requests.writes[i]) }
        let st = sys.finishBatch()
        let spec = config.spec
        let cycles = config.mode == .fast ? st.cycles + Double(DRAMModel(config).firstAccessCycles) : st.cycles
        var active = st
        active.activeRankCycles = st.activeRankCycles / max(st.cycles, 1) * cycles
        return Result(cycles: cycles, stats: st, energyPJ: st.energyPJ + active.backgroundPJ(spec, cycles: cycles))
    }
}
