import Foundation
import Testing
@testable import AttnCore

@Suite struct TraceTests {
    static func tinyMetadata() -> TraceMetadata {
        TraceMetadata(model: "tiny", architecture: "llama", layers: 2, heads: 2, kvHeads: 1, headDim: 2,
                      causal: true, scale: 0.70710677, promptTokens: [2, 1])
    }

    @Test func readsATraceWrittenByPython() throws {
        let r = try TraceReader(path: Fixtures.path("io/trace_tiny.safetensors"))
        #expect(r.metadata == Self.tinyMetadata())
        #expect(r.lengths == [3, 2])
        #expect(try r.tokens(sequence: 1) == [10, 11])
        let layer = try r.layer(sequence: 1, layer: 1)
        let expected = try Fixtures.json("io/expected.json")
        #expect(layer.q == (expected["trace_seq1_layer1_q"] as! [Any]).floats)
        #expect(layer.k.count == 1 * 2 * 2)
    }

    func writeTrace(_ meta: TraceMetadata, lengths: [Int], dtype: TensorDType = .f16,
                    mutate: (inout [Float], String) -> Void = { _, _ in }) throws -> String {
        var w = TraceWriter(metadata: meta, dtype: dtype)
        for (s, t) in lengths.enumerated() {
            w.addTokens(sequence: s, Array(0..<t))
            for l in 0..<meta.layers {
                var q = (0..<(meta.heads * t * meta.headDim)).map { Float($0) * 0.25 }
                var k = (0..<(meta.kvHeads * t * meta.headDim)).map { Float($0) * -0.5 }
                let v = k
                mutate(&q, "seq\(s).layer\(l).q")
                mutate(&k, "seq\(s).layer\(l).k")
                w.addLayer(sequence: s, layer: l, tokens: t, q: q, k: k, v: v)
            }
        }
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("t.safetensors").path
        try w.write(to: path)
        return path
    }

    @Test(arguments: [TensorDType.f16, .f32, .bf16])
    func writerRoundTrip(dtype: TensorDType) throws {
        let path = try writeTrace(Self.tinyMetadata(), lengths: [3, 2], dtype: dtype)
        let r = try TraceReader(path: path)
        #expect(r.metadata.promptTokens == [2, 1])
        #expect(r.metadata.extras["dtype"] == dtype.rawValue)
        let l = try r.layer(sequence: 0, layer: 1)
        #expect(l.q == (0..<12).map { Float($0) * 0.25 })  // exactly representable in all three
        #expect(try r.file.info("seq0.layer1.q").dtype == dtype)
    }

    @Test func nonFiniteValuesAreRejectedUnlessAllowed() throws {
        let path = try writeTrace(Self.tinyMetadata(), lengths: [3, 2]) { values, name in
            if name == "seq1.layer0.k" { values[3] = .nan }
        }
        #expect(throws: AttnError.input(file: path, item: "seq1.layer0.k", message: "non-finite value nan at [head 0, token 1, dim 1] (flat index 3; use --allow-nonfinite to accept)")) {
            try TraceReader(path: path)
        }
        #expect(try TraceReader(path: path, options: TraceReadOptions(allowNonFinite: true)).lengths == [3, 2])
    }

    @Test func inconsistentMetadataIsRejected() throws {
        var meta = Self.tinyMetadata()
        meta.promptTokens = [4, 1]
        let path = try writeTrace(meta, lengths: [3, 2])
        #expect(throws: AttnError.input(file: path, item: "__metadata__.prompt_tokens", message: "sequence 0 has 3 tokens but prompt_tokens says 4")) {
            try TraceReader(path: path)
        }
        var bad = Self.tinyMetadata().strings
        bad["kv_heads"] = "3"
        #expect(throws: AttnError.input(file: "m", item: "__metadata__.kv_heads", message: "heads (2) must be a multiple of kv_heads (3)")) {
            try TraceMetadata(strings: bad, file: "m")
        }
        bad = Self.tinyMetadata().strings
        bad["format"] = "something"
        #expect(throws: AttnError.self) { try TraceMetadata(strings: bad, file: "m") }
        bad = Self.tinyMetadata().strings
        bad.removeValue(forKey: "head_dim")
        do { _ = try TraceMetadata(strings: bad, file: "m"); Issue.record("accepted") } catch {
            #expect(error.description.hasPrefix("m: __metadata__.head_dim: missing"))
        }
    }

    @Test func missingLayerAndWrongShapeAreNamed() throws {
        // A K tensor with the wrong number of tokens, and layer 1 of sequence 1 missing.
        let dir = try Fixtures.temporaryDirectory()
        let path = dir.appendingPathComponent("bad.safetensors").path
        var sw = SafetensorsWriter(metadata: Self.tinyMetadata().strings)
        sw.add("seq0.tokens", int32s: [1, 2, 3], shape: [3])
        sw.add("seq1.tokens", int32s: [1, 2], shape: [2])
        for l in 0..<2 {
            sw.add("seq0.layer\(l).q", floats: .init(repeating: 0, count: 12), shape: [2, 3, 2])
            sw.add("seq0.layer\(l).k", floats: .init(repeating: 0, count: 6), shape: [1, 3, 2])
            sw.add("seq0.layer\(l).v", floats: .init(repeating: 0, count: 6), shape: [1, 3, 2])
        }
        sw.add("seq1.layer0.q", floats: .init(repeating: 0, count: 8), shape: [2, 2, 2])
        sw.add("seq1.layer0.k", floats: .init(repeating: 0, count: 6), shape: [1, 3, 2])
        try sw.write(to: path)
        #expect(throws: AttnError.input(file: path, item: "seq1.layer0.k", message: "expected shape [1, 2, 2] (kv_heads, tokens, head_dim), found [1, 3, 2]")) {
            try TraceReader(path: path)
        }
    }
}
