import AttnCore
import Foundation
import Testing
@testable import Experiments

/// The job API behind `run`, `sweep` and `eval`: shards and output checks.
@Suite struct JobTests {
    @Test func shardsPartitionThePoints() throws {
        let shards = try (0..<3).map { i throws(AttnError) in try Shard(parsing: "\(i)/3") }
        for point in 0..<30 { #expect(shards.filter { $0.includes(point: point) }.count == 1) }
        #expect(try Shard(parsing: "0/1").includes(point: 12345))
    }

    @Test(arguments: ["3/3", "-1/2", "1", "1/0", "a/b", "1/2/3", "/2", "1/", ""])
    func badShardsAreUsageErrors(text: String) {
        let error = #expect(throws: AttnError.self) { try Shard(parsing: text, flag: "--shard") }
        #expect(error?.description == "--shard: expected I/N with 0 ≤ I < N, got '\(text)'")
    }

    @Test func resumeNeedsAFile() {
        let error = #expect(throws: AttnError.self) { try JobOptions(configPath: "c.yaml", out: "-", resume: true).checkOutput() }
        #expect(error?.description.contains("needs --out FILE") == true)
    }
}
