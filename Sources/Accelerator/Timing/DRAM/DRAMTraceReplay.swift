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

extension DRAMRequests {
    /// A tiled decode stream, as `DRAMAddressStream` issues it for the `tiled` dataflow when neither
    /// K nor V stays on chip (docs/results.md, decode-key-tiles, scaled down): `slots` (layer, KV
    /// head) slots one after another, each `steps` decode steps over `keys` keys of 64-byte K and V
    /// rows (head_dim 64, int8, `kv_tokens` 8192, 3 query heads), every step's keys in tiles of
    /// `keyTile`: per tile the K rows, then the V rows — all of them (`sparse` false) or the ~25 %
    /// a fixed hash keeps — with the step's Q in at the first tile and its output out at the last.
    /// The request multiset does not depend on `keyTile`; the order does.
    public static func tiledDecode(_ config: DRAMConfig, keyTile: Int, sparse: Bool, slots: Int = 4, steps: Int = 4,
                                   keys: Int = 2048) -> DRAMRequests {
        var config = config
        config.kvTokens = 8192
        let recorder = DRAMTraceRecorder()
        let kt = max(1, keyTile)
        for slot in 0..<slots {
            var stream = DRAMAddressStream(config: config, layer: slot / 3, kvHead: slot % 3, keys: keys, headDim: 64, groupHeads: 3,
                                           qBytes: 1, kBytes: 1, vBytes: 1, outBytes: 1, recorder: recorder)
            for step in 0..<steps {
                var k0 = 0
                while k0 < keys {
                    let k1 = min(keys, k0 + kt)
                    let kept = (k0..<k1).filter { !sparse || (($0 &* 2_654_435_761 &+ step &* 40_503) >> 7) % 4 == 0 }
                    _ = stream.tile(position: keys - steps + step, qBytes: k0 == 0 ? 3 * 64 : 0, kRows: k0..<k1, kRowBytes: 64,
                                    vRows: kept, vRowBytes: 64, outBytes: k1 == keys ? 3 * 64 : 0, indexBytes: 0)
                    k0 = k1
                }
            }
        }
        // The recorder writes the trace format `parse` reads: a failure is a bug here, not bad input.
        do { return try DRAMRequests.parse(recorder.contents, file: "tiledDecode") } catch {
            preconditionFailure("tiledDecode: the recorder's own trace did not parse: \(error)")
        }
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
