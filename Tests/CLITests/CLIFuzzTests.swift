import Foundation
import Testing

/// The CLI fuzzer's regression slice: `ATTNSIM_CLI_FUZZ_CASES` cases (default 300) of seed
/// `ATTNSIM_CLI_FUZZ_SEED` (default 1) against the built binary, `ATTNSIM_CLI_FUZZ_JOBS` at a time
/// (default 2), from case `ATTNSIM_CLI_FUZZ_FIRST` (default 0; to split one long run over processes).
/// The long run in docs/robustness.md is the same test with a larger count.
@Suite struct CLIFuzzTests {
    static func env(_ name: String) -> String? { ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// Runs one case in `dir`; returns its failure or nil.
    static func run(_ c: CLIFuzzer.Case, in dir: URL, fixture: CLIFuzzer.Fixture) throws -> (status: Int32, failure: String?) {
        try CLIFuzzer.prepare(c, in: dir, fixture: fixture)
        let before = CLIFuzzer.snapshot(dir)
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = c.args
        process.currentDirectoryURL = dir
        let out = FileHandle(forWritingAtPath: "/dev/null")!
        process.standardOutput = out
        let err = Pipe()
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let timer = DispatchWorkItem { process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 300, execute: timer)
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        try? out.close()
        let after = CLIFuzzer.snapshot(dir)
        if let log = env("ATTNSIM_CLI_FUZZ_LOG") {
            let line = "\(process.terminationStatus)\t\(c.description)\t\(String(decoding: errData, as: UTF8.self).prefix(200).replacingOccurrences(of: "\n", with: " "))\n"
            if let h = FileHandle(forWritingAtPath: log) { h.seekToEndOfFile(); h.write(Data(line.utf8)); try? h.close() }
        }
        return (process.terminationStatus,
                CLIFuzzer.judge(c, status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                                stderr: String(decoding: errData, as: UTF8.self), before: before, after: after))
    }

    @Test func cliFuzzFindsNoTrapNoClobberNoLeftover() throws {
        let cases = Int(Self.env("ATTNSIM_CLI_FUZZ_CASES") ?? "") ?? 300
        let seed = UInt64(Self.env("ATTNSIM_CLI_FUZZ_SEED") ?? "") ?? 1
        let jobs = max(1, Int(Self.env("ATTNSIM_CLI_FUZZ_JOBS") ?? "") ?? 2)
        let first = max(0, Int(Self.env("ATTNSIM_CLI_FUZZ_FIRST") ?? "") ?? 0)
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // The shared inputs: the tiny committed fixture trace and a report CSV made from it.
        let trace = CLI.packageRoot.appendingPathComponent("Tests/Fixtures/io/trace_tiny.safetensors").path
        let setup = root.appendingPathComponent("setup")
        try FileManager.default.createDirectory(at: setup, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: trace, toPath: setup.appendingPathComponent("tiny.safetensors").path)
        try Data("traces: [tiny.safetensors]\nsweep: {hardware.array.rows: [8, 16]}\n".utf8).write(to: setup.appendingPathComponent("s.yaml"))
        let made = try CLI.run(["sweep", "s.yaml", "--out", "in.csv", "--quiet"], cwd: setup)
        #expect(made.status == 0, "\(made.stderr)")
        let fixture = CLIFuzzer.Fixture(trace: trace, csv: setup.appendingPathComponent("in.csv").path)

        let start = Date()
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var failures: [String] = []
            var done = 0
            var statuses: [Int32: Int] = [:]
        }
        let tally = Tally()
        DispatchQueue.concurrentPerform(iterations: jobs) { job in
            var i = first + job
            while i < first + cases {
                let c = CLIFuzzer.makeCase(seed: seed, index: i)
                let dir = root.appendingPathComponent("case-\(i)")
                var failure: String?, status: Int32 = -1
                do {
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    (status, failure) = try Self.run(c, in: dir, fixture: fixture)
                } catch {
                    failure = "harness: \(error)"
                }
                try? FileManager.default.removeItem(at: dir)
                tally.lock.lock()
                if let failure { tally.failures.append("case \(i): attnsim \(c.description): \(failure)") }
                tally.done += 1
                tally.statuses[status, default: 0] += 1
                if tally.done % 5000 == 0 {
                    FileHandle.standardError.write(Data("cli-fuzz: \(tally.done) of \(cases) cases, \(tally.failures.count) failures, \(Int(Date().timeIntervalSince(start))) s\n".utf8))
                }
                tally.lock.unlock()
                i += jobs
            }
        }
        let failures = tally.failures
        let seconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data("cli-fuzz: seed \(seed), \(cases) cases from \(first), \(failures.count) failures, \(String(format: "%.0f", seconds)) s, exit statuses \(tally.statuses.sorted { $0.key < $1.key })\n".utf8))
        for f in failures.prefix(50) { FileHandle.standardError.write(Data("cli-fuzz: \(f)\n".utf8)) }
        #expect(failures.isEmpty, "\(failures.count) failing cases; first: \(failures.prefix(5).joined(separator: " | "))")
    }

    /// The generator is deterministic: the same seed and index give the same case.
    @Test func casesAreDeterministic() {
        for i in 0..<200 {
            let a = CLIFuzzer.makeCase(seed: 7, index: i), b = CLIFuzzer.makeCase(seed: 7, index: i)
            #expect(a.args == b.args && a.files == b.files)
        }
        #expect(CLIFuzzer.makeCase(seed: 7, index: 1).args != CLIFuzzer.makeCase(seed: 8, index: 1).args
                || CLIFuzzer.makeCase(seed: 7, index: 2).args != CLIFuzzer.makeCase(seed: 8, index: 2).args)
    }
}
