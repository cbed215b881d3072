import AttnCore
import Foundation
import Testing
import TestSupport

/// OutputGuard remembers every output the process claimed: one file named by two flags (another
/// spelling, a `..` path, a symlink to a file not written yet) is refused, naming both.
@Suite struct OutputGuardTests {
    @Test func aFileClaimedByTwoFlagsIsRefusedNamingBoth() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.csv").path
        try OutputGuard.check(output: out, flag: "--out", inputs: [], lock: false)
        // The same use may check its output again.
        try OutputGuard.check(output: out, flag: "--out", inputs: [], lock: false)
        let link = dir.appendingPathComponent("link.csv").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "r.csv")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for other in [link, dir.appendingPathComponent("sub/../r.csv").path] {
            do {
                try OutputGuard.check(output: other, flag: "--dram-trace", inputs: [], lock: false)
                Issue.record("\(other) accepted as --dram-trace after --out claimed \(out)")
            } catch {
                #expect("\(error)" == "--dram-trace: '\(other)' is also the --out file '\(out)': give each output its own file")
            }
        }
        // Another file is another output.
        try OutputGuard.check(output: dir.appendingPathComponent("trace.txt").path, flag: "--dram-trace", inputs: [], lock: false)
    }
}
