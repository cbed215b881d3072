import AttnCore
import Foundation
import Testing

/// `AttnSimVersion.modelRevision` names the models behind every reported number; `--resume` and
/// `merge` refuse to mix rows of two revisions. This test keeps the revision honest: it pins the
/// reports of a few committed configs — Top-θ on both reference traces, the tiled dataflow on the
/// banked DRAM model with a streaming K buffer, and buffers so small that tiles shrink and spill —
/// to the revision. A change that moves any of their numbers fails here until the revision is
/// bumped and the digest re-pinned (docs/robustness.md, "Model revisions").
@Suite struct ModelRevisionTests {
    static let pinned = (revision: 2, digest: "5d69f97ab714e11e")

    static let runs: [[String]] = [
        ["sweep", "Configs/sweep-small.yaml"],
        ["sweep", "Configs/tiled-dram.yaml"],
        // Query tiles shrink to 4 (MiniLM) and 2 rows (SmolLM2), decode spills, K streams, SRAM ports timed.
        ["run", "Configs/default.yaml", "--set", "hardware.memory.score_buffer_kib=0.25", "--set", "hardware.memory.out_buffer_kib=0.5",
         "--set", "hardware.memory.q_buffer_kib=0.25", "--set", "hardware.memory.k_buffer_kib=1", "--set", "hardware.memory.sram_stage=true"],
    ]

    @Test func reportsOfCommittedConfigsArePinnedToTheModelRevision() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var all = Data()
        for (n, args) in Self.runs.enumerated() {
            let out = dir.appendingPathComponent("r\(n).csv").path
            let r = try CLI.run(args + ["--out", out, "--quiet"])
            try #require(r.status == 0, "\(args.joined(separator: " ")): \(r.stderr)")
            all += try Data(contentsOf: URL(fileURLWithPath: out))
        }
        let digest = String(SHA256Hash.hex(Array(all)).prefix(16))
        #expect(Self.pinned.revision == AttnSimVersion.modelRevision,
                "AttnSimVersion.modelRevision is \(AttnSimVersion.modelRevision): pin its digest here (\(digest))")
        #expect(digest == Self.pinned.digest,
                "reports of the committed configs changed (digest \(digest)): if the change is meant, bump AttnSimVersion.modelRevision, say why in docs/robustness.md (\"Model revisions\") and pin the new digest")
    }
}
