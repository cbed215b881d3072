/// The memory system around the units: on-chip SRAM buffers for Q, K, V, scores and outputs, and
/// DRAM with a bandwidth, a latency and a burst size.
///
/// DRAM time for a transfer of b bytes in n bursts: n · burst / bandwidth cycles (bursts are moved
/// whole), plus the latency once per dependent request round. With `doubleBuffered`, tile i+1's loads
/// overlap tile i's compute, so the latency is paid once per stream and DRAM time overlaps compute;
/// without it, each tile pays the latency and its transfer before computing.
public struct MemorySystem: Sendable, Equatable {
    public var dramBytesPerCycle: Double = 16
    public var dramLatencyCycles: Int = 100
    public var burstBytes: Int = 64
    /// Bytes per cycle each SRAM buffer's port moves (reads and writes share it; every buffer has
    /// its own port). With `sramStage` the busiest buffer's port time is a pipeline stage.
    public var sramBytesPerCycle: Double = 64
    /// Whether SRAM port time is a pipeline stage that can bound a tile (`bound_by` = `sram`). The
    /// config's default is true with `dataflow: tiled`, false with `full_row` (whose published figures
    /// predate it).
    public var sramStage = false
    public var qBufferKiB: Double = 32
    /// K buffer (row cache across tiles / decode steps); 0: K is streamed from DRAM for every tile.
    public var kBufferKiB: Double = 64
    public var scoreBufferKiB: Double = 64
    public var outBufferKiB: Double = 32
    public var doubleBuffered = true

    public init() {}

    public func dramCycles(bursts: Int) -> Int {
        Int((Double(bursts * burstBytes) / dramBytesPerCycle).rounded(.up))
    }

    public func sramCycles(bytes: Int) -> Int {
        Int((Double(bytes) / sramBytesPerCycle).rounded(.up))
    }

    /// Bursts needed for `bytes` contiguous bytes starting at a burst boundary.
    public func bursts(bytes: Int) -> Int { (bytes + burstBytes - 1) / burstBytes }
}
