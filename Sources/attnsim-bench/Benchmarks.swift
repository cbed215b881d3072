import Experiments

/// Every benchmark, in report order. Each checks its result once before being timed.
func allBenchmarks() -> [Benchmark] {
    []
}
