import Foundation

/// A one-line progress report on stderr ("points 120/1000  35.2/s  ETA 25 s"), redrawn in place at
/// most every `interval` seconds. Silent unless stderr is a terminal (or `force` is set), and always
/// silent with `quiet`. Thread-safe: workers call `advance()` from any thread.
public final class ProgressLine: @unchecked Sendable {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private let interval: Double
    private let lock = NSLock()
    private var done = 0
    private let start: Double
    private var lastDraw = 0.0
    private var drewSomething = false

    public init(total: Int, label: String = "points", quiet: Bool = false, force: Bool = false, interval: Double = 0.2) {
        self.total = total
        self.label = label
        self.enabled = !quiet && (force || isatty(STDERR_FILENO) == 1)
        self.interval = interval
        self.start = monotonicSeconds()
    }

    /// Records `count` finished items and redraws the line if it is due.
    public func advance(by count: Int = 1) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        done += count
        let t = monotonicSeconds()
        if t - lastDraw >= interval || done == total {
            lastDraw = t
            draw(elapsed: t - start)
        }
    }

    /// Clears the line (call once at the end).
    public func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if drewSomething { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func draw(elapsed: Double) {
        drewSomething = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + Self.text(done: done, total: total, elapsed: elapsed, label: label)).utf8))
    }

    /// The progress text, e.g. "points 120/1000 (12%)  35.2/s  ETA 25 s".
    static func text(done: Int, total: Int, elapsed: Double, label: String) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var s = "\(label) \(done)/\(total)"
        if total > 0 { s += " (\(done * 100 / total)%)" }
        s += String(format: "  %.1f/s", rate)
        if rate > 0 && done < total {
            s += "  ETA " + formatDuration(Double(total - done) / rate)
        }
        return s
    }
}

func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded(.up))
    if s < 60 { return "\(s) s" }
    if s < 3600 { return "\(s / 60) min \(s % 60) s" }
    return "\(s / 3600) h \(s / 60 % 60) min"
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
