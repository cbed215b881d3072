import Foundation

/// A tiny benchmark harness: run a body repeatedly for at least `minSeconds`, report the median
/// time per iteration. Results are fed to `blackHole` so the optimizer cannot drop the work.
struct Benchmark {
    let name: String
    /// What one iteration does, for the report (e.g. "1 GEMM", "128 tokens").
    let unit: String
    /// Work items per iteration (for throughput: items per second).
    let itemsPerIteration: Double
    let body: () -> Int
}

struct BenchResult {
    let name: String
    let unit: String
    let medianSeconds: Double
    let iterations: Int
    let itemsPerSecond: Double
}

@inline(never) func blackHole(_ x: Int) {
    if x == 0x5eed_beef_dead { print("", terminator: "") }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func measure(_ b: Benchmark, minSeconds: Double = 1.0, maxIterations: Int = 1_000_000) -> BenchResult {
    blackHole(b.body())  // warm-up (and first-touch of memory)
    var times: [Double] = []
    let start = now()
    while times.count < maxIterations && (now() - start < minSeconds || times.count < 3) {
        let t0 = now()
        blackHole(b.body())
        times.append(now() - t0)
    }
    times.sort()
    let median = times[times.count / 2]
    return BenchResult(name: b.name, unit: b.unit, medianSeconds: median, iterations: times.count,
                       itemsPerSecond: b.itemsPerIteration / median)
}
