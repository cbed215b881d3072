import Foundation
import Testing
@testable import AttnCore

/// A grouped-query trace written by numpy + safetensors from docs/trace-format.md alone
/// (Tests/Fixtures/io/trace.safetensors; trace_values.safetensors holds its Q/K/V as float32).
@Suite struct TraceNumpyFixtureTests {
    @Test func readsTheNumpyWrittenTrace() throws {
        let r = try TraceReader(path: Fixtures.path("io/trace.safetensors"))
        let ref = try SafetensorsFile(path: Fixtures.path("io/trace_values.safetensors"))
        let m = r.metadata
        #expect(m.model == "numpy-fixture" && m.architecture == "llama")
        #expect(m.layers == 2 && m.heads == 4 && m.kvHeads == 2 && m.headDim == 3 && m.causal)
        #expect(m.scale == Float(1 / Double(3).squareRoot()))
        #expect(m.promptTokens == [3, 4])
        #expect(m.extras == ["dtype": "F16", "source_text": "made by make_io_fixtures.py"])
        #expect(r.lengths == [5, 4])
        #expect(try r.tokens(sequence: 0) == [101, 7592, 2088, 999, 102])
        for s in 0..<2 {
            for l in 0..<2 {
                let layer = try r.layer(sequence: s, layer: l)
                #expect(layer.tokens == r.lengths[s])
                #expect(layer.q == (try ref.floats("seq\(s).layer\(l).q")))
                #expect(layer.k == (try ref.floats("seq\(s).layer\(l).k")))
                #expect(layer.v == (try ref.floats("seq\(s).layer\(l).v")))
            }
        }
    }

    /// A tensor outside the schema (here a layer beyond `layers`) is an error naming it.
    @Test func unexpectedTensorIsNamed() throws {
        let src = try SafetensorsFile(path: Fixtures.path("io/trace.safetensors"))
        var w = SafetensorsWriter(metadata: src.metadata)
        for t in src.tensors {
            let bytes = try src.withBytes(t.name) { Array($0) }
            w.add(t.name, dtype: t.dtype, shape: t.shape, bytes: bytes)
        }
        w.add("seq0.layer2.q", floats: [Float](repeating: 0, count: 4 * 5 * 3), shape: [4, 5, 3], as: .f16)
        let dir = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try w.write(to: dir + "/extra.safetensors")
        #expect(throws: AttnError.input(file: dir + "/extra.safetensors", item: "seq0.layer2.q",
                                        message: "unexpected tensor (an attnsim trace holds only seq{S}.tokens and seq{S}.layer{L}.q/k/v for S < 2, L < 2)")) {
            try TraceReader(path: dir + "/extra.safetensors")
        }
    }
}
