import Foundation

/// A tiny benchmark harness: run a body repeatedly for at least `minSeconds`, report the median
/// time per iteration. Results are fed to `blackHole` so the optimizer cannot drop the work.
struct Benchmark {
    let name: String
    /// What one iteration does, for the report (e.g. "1 GEMM", "128 tokens").
    let unit: String
    /// Work items per iteration (for throughput: items per second).
    let itemsPerIteration: Double
    /// A trace that Scripts/numpy_attention.py also runs (its time and the ratio are printed next to this one).
    var numpyTrace: String? = nil
    let body: () -> Int
}

struct BenchResult {
    let name: String
    let unit: String
    let medianSeconds: Double
    /// Median CPU time of the process per iteration (all threads): on a machine shared with other
    /// jobs, items per CPU-second × cores estimates the idle machine's rate better than wall time.
    let medianCPUSeconds: Double
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

func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func measure(_ b: Benchmark, minSeconds: Double = 1.0, maxIterations: Int = 1_000_000) -> BenchResult {
    blackHole(b.body())  // warm-up (and first-touch of memory)
    var times: [Double] = [], cpu: [Double] = []
    let start = now()
    while times.count < maxIterations && (now() - start < minSeconds || times.count < 3) {
        let t0 = now(), c0 = cpuNow()
        blackHole(b.body())
        times.append(now() - t0)
        cpu.append(cpuNow() - c0)
    }
    times.sort()
    cpu.sort()
    let median = times[times.count / 2]
    return BenchResult(name: b.name, unit: b.unit, medianSeconds: median, medianCPUSeconds: cpu[cpu.count / 2],
                       iterations: times.count, itemsPerSecond: b.itemsPerIteration / median)
}

/// Runs Scripts/numpy_attention.py on `trace` (plain numpy float attention; BLAS threads as numpy
/// chooses, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment only) and returns
/// its minimum wall and CPU time over 3 repeats, or nil (with a note on stderr) when python3 or
/// numpy is missing.
func numpyAttentionSeconds(trace: String) -> (wall: Double, cpu: Double)? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "Scripts/numpy_attention.py", trace, "--repeats", "3"]
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_CORETYPE"] = nil
    env["OPENBLAS_L2_SIZE"] = nil
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch {
        FileHandle.standardError.write(Data("attnsim-bench: cannot run python3 for the numpy comparison: \(error)\n".utf8))
        return nil
    }
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let fields = out.split(separator: "\n").last?.split(separator: ",") ?? []
    guard p.terminationStatus == 0, fields.count >= 6, let wall = Double(fields[2]), let cpu = Double(fields[5]) else {
        FileHandle.standardError.write(Data("attnsim-bench: Scripts/numpy_attention.py failed (needs python3 with numpy)\n".utf8))
        return nil
    }
    return (wall, cpu)
}
