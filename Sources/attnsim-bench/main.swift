import Foundation

// attnsim-bench — the figures in docs/performance.md. Release builds only:
//   swift run -c release attnsim-bench [--filter SUBSTRING] [--seconds S]

#if DEBUG
FileHandle.standardError.write(Data("attnsim-bench: refusing to time a debug build; run `swift run -c release attnsim-bench`\n".utf8))
exit(2)
#else
var filter: String?
var seconds = 1.0
var it = CommandLine.arguments.dropFirst().makeIterator()
while let arg = it.next() {
    switch arg {
    case "--filter": filter = it.next()
    case "--seconds": seconds = it.next().flatMap(Double.init) ?? seconds
    default:
        FileHandle.standardError.write(Data("attnsim-bench: unknown argument '\(arg)' (use --filter S, --seconds S)\n".utf8))
        exit(2)
    }
}
let selected = allBenchmarks().filter { filter == nil || $0.name.contains(filter!) }
print("benchmark,unit,median_seconds,iterations,items_per_second,median_cpu_seconds,items_per_cpu_second")
for b in selected {
    let r = measure(b, minSeconds: seconds)
    print("\(r.name),\(r.unit),\(String(format: "%.6g", r.medianSeconds)),\(r.iterations),\(String(format: "%.6g", r.itemsPerSecond)),"
          + "\(String(format: "%.6g", r.medianCPUSeconds)),\(String(format: "%.6g", b.itemsPerIteration / r.medianCPUSeconds))")
    if let trace = b.numpyTrace, let s = numpyAttentionSeconds(trace: trace) {
        print("numpy_float_attention (\(trace)),trace,\(String(format: "%.6g", s.wall)),3 (minimum),,\(String(format: "%.6g", s.cpu)),")
        print("ratio \(b.name) / numpy,,\(String(format: "%.3g", r.medianSeconds / s.wall)),,,\(String(format: "%.3g", r.medianCPUSeconds / s.cpu)),")
    }
}
#endif
