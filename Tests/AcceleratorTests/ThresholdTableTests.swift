import AttnCore
import Testing
@testable import Accelerator

/// The Top-θ threshold table as hardware stores it: bucketed row lengths, interpolation, bytes, and
/// per-layer k overrides.
@Suite struct ThresholdTableTests {
    /// One layer, one head, rows up to 8, θ(n) = 10·n calibrated at every length.
    static let table = TopThetaThresholds(layers: 1, heads: 1, maxLength: 8, theta: (0...8).map { 10 * Double($0) },
                                          constants: [0], samples: [1])

    static func topTheta(_ buckets: AttentionConfig.ThresholdBuckets, _ interpolation: AttentionConfig.ThresholdInterpolation) -> AttentionConfig.TopTheta {
        var t = AttentionConfig.TopTheta(k: 1)
        t.buckets = buckets
        t.interpolation = interpolation
        return t
    }

    static func read(_ t: AttentionConfig.TopTheta) -> [Double] {
        let b = table.bucketed(t)
        return (2...8).map { b.threshold(layer: 0, head: 0, length: $0, k: 1) }
    }

    @Test func bucketsStoreSomeLengthsAndReadTheRest() {
        // Powers of two: 2, 4, 8 stored. Nearest (ties to the shorter length): 3 → 2, 5 → 4, 6 → 4, 7 → 8.
        #expect(Self.topTheta(.powersOfTwo, .nearest).storedLengths(layer: 0, maxLength: 8) == [2, 4, 8])
        #expect(Self.read(Self.topTheta(.powersOfTwo, .nearest)) == [20, 20, 40, 40, 40, 80, 80])
        // Linear interpolation reproduces a linear θ(n) exactly.
        #expect(Self.read(Self.topTheta(.powersOfTwo, .linear)) == [20, 30, 40, 50, 60, 70, 80])
        // Every 3 rows: 3 and 6 stored; 2 reads 3's entry (below the first), 7 and 8 read 6's (beyond the last).
        #expect(Self.read(Self.topTheta(.every(3), .linear)) == [30, 30, 40, 50, 60, 60, 60])
        #expect(Self.read(Self.topTheta(.every(3), .nearest)) == [30, 30, 30, 60, 60, 60, 60])
        // No buckets: the table as calibrated.
        #expect(Self.read(Self.topTheta(.none, .nearest)) == [20, 30, 40, 50, 60, 70, 80])
    }

    @Test func tableBytesCountStoredLengths() {
        // Lengths 2...8 (n ≤ k = 1 needs no entry), 2 bytes each, 3 layers × 4 heads.
        #expect(Self.topTheta(.none, .nearest).tableBytes(layers: 3, heads: 4, maxLength: 8, entryBytes: 2) == 7 * 12 * 2)
        #expect(Self.topTheta(.powersOfTwo, .nearest).tableBytes(layers: 3, heads: 4, maxLength: 8, entryBytes: 2) == 3 * 12 * 2)
        var t = Self.topTheta(.every(3), .nearest)
        t.denominator = .constant   // one constant per (layer, head) more
        #expect(t.tableBytes(layers: 3, heads: 4, maxLength: 8, entryBytes: 2) == (2 + 1) * 12 * 2)
        // Rows never longer than k: nothing to store.
        #expect(AttentionConfig.TopTheta(k: 16).tableBytes(layers: 3, heads: 4, maxLength: 8, entryBytes: 2) == 0)
    }

    static func decode(_ yaml: String) throws -> AttentionConfig {
        try AttentionConfig(from: try ConfigReader(try ConfigParser.parse(yaml, file: "c.yaml")))
    }

    @Test func perLayerKAndBucketKeysDecode() throws {
        let c = try Self.decode("pruning: {kind: top_theta, k: 8, first_layers_k: 32, layer_k: {1: 4, 5: 64}, length_buckets: every, bucket_rows: 16, interpolation: linear}")
        guard case .topTheta(let t) = c.pruning else { Issue.record("not Top-θ"); return }
        #expect([0, 1, 2, 5].map(t.k(forLayer:)) == [32, 4, 8, 64])
        #expect(t.buckets == .every(16) && t.interpolation == .linear)
        // Written back (canonical form) and read again: the same config.
        #expect(try AttentionConfig(from: ConfigReader(c.configNode)) == c)
        // Without the new keys the canonical form has none of them (config_ids of older configs stay).
        let plain = try Self.decode("pruning: {kind: top_theta, k: 8}")
        let text = plain.configNode.canonicalText
        #expect(!text.contains("layer_k") && !text.contains("length_buckets") && !text.contains("interpolation"))
    }

    @Test(arguments: [
        ("pruning: {kind: top_theta, k: 8, layer_k: {x: 4}}", "c.yaml:1:47: pruning.layer_k.x: expected a layer index"),
        ("pruning: {kind: top_theta, k: 8, layer_k: {3: 0}}", "pruning.layer_k.3"),
        ("pruning: {kind: top_theta, k: 8, length_buckets: log}", "pruning.length_buckets: expected one of none, pow2, every"),
        ("pruning: {kind: top_theta, k: 8, length_buckets: pow2, interpolation: cubic}", "pruning.interpolation"),
    ])
    func badTableKeysAreLocated(yaml: String, message: String) {
        #expect(throws: AttnError.self) { try Self.decode(yaml) }
        do { _ = try Self.decode(yaml) } catch { #expect("\(error)".contains(message), "\(error)") }
    }
}
