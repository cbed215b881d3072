import Foundation
import Testing
@testable import AttnCore

@Suite struct TraceTests {
    static func meta(causal: Bool = true, layers: Int = 2, heads: Int = 4, kvHeads: Int = 2, headDim: Int = 3) -> TraceMetadata {
        TraceMetadata(model: "unit-test", architecture: causal ? "llama" : "bert", layers: layers, heads: heads,
                      kvHeads: kvHeads, headDim: headDim, causal: causal, scale: 1 / Double(headDim).squareRoot(),
                      extras: ["command": "attnsim record --x \"y\""])
    }

    /// Deterministic values: element i of (seq, layer, kind) is a small dyadic number (exact in F16).
    static func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { Float(($0 * 7 + seed * 13) % 61 - 30) / 8 }
    }

    static func sampleWriter(dtype: SafetensorsDType = .f16) throws -> TraceWriter {
        var w = try TraceWriter(metadata: meta(), dtype: dtype)
        for (s, t) in [5, 3].enumerated() {
            try w.addSequence(tokens: (0..<t).map { Int32($0 + 100 * s) }, promptTokens: s == 0 ? 2 : 3)
            for l in 0..<2 {
                try w.setLayer(seq: s, layer: l, q: values(4 * t * 3, seed: s * 10 + l), k: values(2 * t * 3, seed: s * 10 + l + 1),
                               v: values(2 * t * 3, seed: s * 10 + l + 2))
            }
        }
        return w
    }

    /// A trace written by numpy following docs/trace-format.md (Scripts/make_io_fixtures.py).
    @Test func readsTheNumpyWrittenTrace() throws {
        let r = try TraceReader(path: IOTestSupport.fixture("trace.safetensors"))
        let ref = try SafetensorsFile(path: IOTestSupport.fixture("trace_values.safetensors"))
        #expect(r.metadata.model == "numpy-fixture")
        #expect(r.metadata.layers == 2 && r.metadata.heads == 4 && r.metadata.kvHeads == 2 && r.metadata.headDim == 3)
        #expect(r.metadata.causal)
        #expect(r.metadata.scale == 1 / Double(3).squareRoot())
        #expect(r.metadata.promptTokens == [3, 4])
        #expect(r.metadata.extras == ["dtype": "F16", "source_text": "made by make_io_fixtures.py"])
        #expect(r.tokenCounts == [5, 4])
        #expect(try r.tokens(seq: 0) == [101, 7592, 2088, 999, 102])
        for s in 0..<2 {
            for l in 0..<2 {
                #expect(try r.q(seq: s, layer: l) == ref.floats("seq\(s).layer\(l).q"))
                #expect(try r.k(seq: s, layer: l) == ref.floats("seq\(s).layer\(l).k"))
                #expect(try r.v(seq: s, layer: l) == ref.floats("seq\(s).layer\(l).v"))
            }
        }
        var buf = [Float](repeating: 0, count: 2 * 4 * 3)
        try buf.withUnsafeMutableBufferPointer { (b) throws(AttnError) in try r.read(seq: 1, layer: 1, .v, into: b) }
        #expect(buf == (try ref.floats("seq1.layer1.v")))
        #expect(AttnErrorText { _ = try r.q(seq: 2, layer: 0) }?.contains("seq2.layer0: out of range (trace has 2 sequences, 2 layers)") == true)
    }

    @Test(arguments: [SafetensorsDType.f16, .f32, .bf16])
    func writerRoundTrips(dtype: SafetensorsDType) throws {
        let dir = try IOTestSupport.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try Self.sampleWriter(dtype: dtype)
        try w.write(to: dir + "/t.safetensors")
        let r = try TraceReader(path: dir + "/t.safetensors")
        #expect(r.metadata == w.metadata)
        #expect(r.metadata.extras["dtype"] == dtype.rawValue)
        #expect(r.metadata.extras["command"] == "attnsim record --x \"y\"")
        #expect(r.metadata.promptTokens == [2, 3])
        #expect(r.tokenCounts == [5, 3])
        #expect(try r.tokens(seq: 1) == [100, 101, 102])
        #expect(try r.q(seq: 1, layer: 1) == Self.values(4 * 3 * 3, seed: 11))  // dyadic values: exact in every dtype
        #expect(try r.v(seq: 0, layer: 0) == Self.values(2 * 5 * 3, seed: 2))
        #expect(r.file.tensorInfo("seq0.layer1.k")?.dtype == dtype)
        // Optional hook used once to run the Python snippet in docs/trace-format.md on a Swift-written trace.
        if dtype == .f16, let out = ProcessInfo.processInfo.environment["ATTNSIM_SAMPLE_TRACE_OUT"] {
            try w.write(to: out)
        }
    }

    @Test func writerRejectsIncompleteOrInconsistentInput() throws {
        var w = try TraceWriter(metadata: Self.meta())
        #expect(AttnErrorText { _ = try w.serialize() } == "trace writer: no sequence was added")
        try w.addSequence(tokens: [1, 2], promptTokens: 1)
        #expect(AttnErrorText { try w.setLayer(seq: 0, layer: 0, q: [1], k: [], v: []) }
                == "trace writer: seq0.layer0.q has 1 values, expected [4, 2, 3] = 24")
        try w.setLayer(seq: 0, layer: 0, q: Self.values(24, seed: 0), k: Self.values(12, seed: 0), v: Self.values(12, seed: 0))
        #expect(AttnErrorText { _ = try w.serialize() } == "trace writer: seq0.layer1 was never set")
        #expect(AttnErrorText { try w.setLayer(seq: 0, layer: 0, q: [], k: [], v: []) } == "trace writer: seq0.layer0 was already set")
        #expect(AttnErrorText { try w.addSequence(tokens: [], promptTokens: 0) } == "trace writer: a sequence needs at least one token")
        #expect(AttnErrorText { _ = try TraceWriter(metadata: Self.meta(heads: 3, kvHeads: 2)) } == "trace writer: heads (3) must be a multiple of kv_heads (2)")
        var enc = try TraceWriter(metadata: Self.meta(causal: false))
        #expect(AttnErrorText { try enc.addSequence(tokens: [1, 2], promptTokens: 1) }?.contains("promptTokens must equal T = 2") == true)
    }

    // MARK: Validation of hostile traces

    /// Writes a raw safetensors image with `metadata` and tensors (name, dtype, shape), zero data.
    static func rawTrace(_ metadata: [String: String], _ tensors: [(String, SafetensorsDType, [Int])],
                         fill: Float = 0.5) throws -> SafetensorsFile {
        var w = SafetensorsWriter(metadata: metadata)
        for (name, dtype, shape) in tensors {
            let n = shape.reduce(1, *)
            if dtype == .i32 { try w.add(name, shape: shape, int32s: (0..<n).map(Int32.init)) }
            else if dtype.isFloatingPoint { try w.add(name, shape: shape, floats: [Float](repeating: fill, count: n), as: dtype) }
            else { try w.add(name, dtype: dtype, shape: shape, bytes: [UInt8](repeating: 0, count: n * dtype.byteSize)) }
        }
        return try SafetensorsFile(bytes: w.serialize(), name: "bad.safetensors")
    }

    static func goodMeta(_ changes: [String: String?] = [:]) -> [String: String] {
        var m = TraceMetadata(model: "m", architecture: "llama", layers: 1, heads: 2, kvHeads: 1, headDim: 2, causal: true,
                              scale: 0.5, promptTokens: [2]).encoded()
        for (k, v) in changes { m[k] = v }
        return m
    }

    static let goodTensors: [(String, SafetensorsDType, [Int])] = [
        ("seq0.tokens", .i32, [3]), ("seq0.layer0.q", .f16, [2, 3, 2]), ("seq0.layer0.k", .f16, [1, 3, 2]), ("seq0.layer0.v", .f16, [1, 3, 2]),
    ]

    static func replacing(_ name: String, with new: (String, SafetensorsDType, [Int])?) -> [(String, SafetensorsDType, [Int])] {
        goodTensors.compactMap { $0.0 == name ? new : $0 }
    }

    @Test func validTinyTraceIsAccepted() throws {
        let r = try TraceReader(file: Self.rawTrace(Self.goodMeta(), Self.goodTensors))
        #expect(r.tokenCounts == [3])
        #expect(try r.k(seq: 0, layer: 0) == [Float](repeating: 0.5, count: 6))
    }

    @Test(arguments: [
        (["format": "pt"], "__metadata__.format: expected 'attnsim-trace', found 'pt'"),
        (["format": nil], "__metadata__.format: missing: not an attnsim-trace file"),
        (["version": "2"], "__metadata__.version: trace format version 2 is not supported (this attnsim reads 1...1)"),
        (["heads": "3", "kv_heads": "2"], "__metadata__.kv_heads: heads (3) must be a multiple of kv_heads (2)"),
        (["kv_heads": "0"], "__metadata__.kv_heads: 0 is out of range 1...1024"),
        (["head_dim": "1000000"], "__metadata__.head_dim: 1000000 is out of range 1...4096"),
        (["layers": "two"], "__metadata__.layers: expected an integer, found 'two'"),
        (["scale": "nan"], "__metadata__.scale: expected a positive finite number, found 'nan'"),
        (["causal": "yes"], "__metadata__.causal: expected 'true' or 'false', found 'yes'"),
        (["prompt_tokens": "3"], "__metadata__.prompt_tokens: expected a JSON list of integers like [5, 7], found '3'"),
        (["prompt_tokens": "[4]"], "__metadata__.prompt_tokens: sequence 0: prompt_tokens 4 must be in 1...3 (T of seq0.tokens)"),
        (["prompt_tokens": "[1, 2]"], "__metadata__.prompt_tokens: has 2 entries but sequences is 1"),
        (["causal": "false"], "__metadata__.prompt_tokens: sequence 0: a non-causal trace has no decode phase, prompt_tokens must equal T = 3, found 2"),
        (["model": nil], "__metadata__.model: missing (required in an attnsim-trace file)"),
    ] as [([String: String?], String)])
    func badMetadataIsNamed(changes: [String: String?], message: String) throws {
        let file = try Self.rawTrace(Self.goodMeta(changes), Self.goodTensors)
        #expect(AttnErrorText { _ = try TraceReader(file: file) } == "bad.safetensors: \(message)")
    }

    @Test(arguments: [
        ("seq0.layer0.v", nil, "seq0.layer0.v: missing tensor (metadata says 1 layers, 1 sequences)"),
        ("seq0.tokens", nil, "seq0.tokens: missing tensor (metadata says 1 sequences)"),
        ("seq0.tokens", ("seq0.tokens", .i64, [3]), "seq0.tokens: expected dtype I32, found I64"),
        ("seq0.tokens", ("seq0.tokens", .i32, [0]), "seq0.tokens: empty sequence (T = 0); a trace sequence needs at least one token"),
        ("seq0.layer0.k", ("seq0.layer0.k", .f16, [2, 3, 2]), "seq0.layer0.k: expected shape [1, 3, 2] ([kv_heads, T of seq0.tokens, head_dim]), found [2, 3, 2]"),
        ("seq0.layer0.q", ("seq0.layer0.q", .f16, [2, 4, 2]), "seq0.layer0.q: expected shape [2, 3, 2] ([heads, T of seq0.tokens, head_dim]), found [2, 4, 2]"),
        ("seq0.layer0.q", ("seq0.layer0.q", .i32, [2, 3, 2]), "seq0.layer0.q: expected dtype F16, BF16 or F32, found I32"),
    ] as [(String, (String, SafetensorsDType, [Int])?, String)])
    func badTensorsAreNamed(name: String, replacement: (String, SafetensorsDType, [Int])?, message: String) throws {
        let file = try Self.rawTrace(Self.goodMeta(), Self.replacing(name, with: replacement))
        #expect(AttnErrorText { _ = try TraceReader(file: file) } == "bad.safetensors: \(message)")
    }

    @Test func unexpectedTensorIsNamed() throws {
        let file = try Self.rawTrace(Self.goodMeta(), Self.goodTensors + [("seq0.layer1.q", .f16, [2, 3, 2])])
        #expect(AttnErrorText { _ = try TraceReader(file: file) }?
            .hasPrefix("bad.safetensors: seq0.layer1.q: unexpected tensor") == true)
    }

    @Test func hugeTensorIsRejectedByTheLimit() throws {
        var limits = TraceLimits()
        limits.maxTensorElements = 8
        let file = try Self.rawTrace(Self.goodMeta(), Self.goodTensors)
        #expect(AttnErrorText { _ = try TraceReader(file: file, options: .init(limits: limits)) }
                == "bad.safetensors: seq0.layer0.q: 12 elements exceed the limit of 8")
        limits = TraceLimits()
        limits.maxTokens = 2
        #expect(AttnErrorText { _ = try TraceReader(file: file, options: .init(limits: limits)) }
                == "bad.safetensors: seq0.tokens: T = 3 exceeds the limit of 2 tokens")
    }

    @Test(arguments: [SafetensorsDType.f16, .bf16, .f32])
    func nonFiniteValuesAreLocatedUnlessAllowed(dtype: SafetensorsDType) throws {
        var w = try TraceWriter(metadata: Self.meta(layers: 1), dtype: dtype)
        try w.addSequence(tokens: [1, 2, 3], promptTokens: 3)
        var q = [Float](repeating: 1, count: 4 * 3 * 3)
        q[1 * 9 + 2 * 3 + 1] = .nan       // head 1, token 2, dim 1
        var k = [Float](repeating: 1, count: 2 * 3 * 3)
        k[5] = -.infinity
        try w.setLayer(seq: 0, layer: 0, q: q, k: k, v: [Float](repeating: 0, count: 18))
        let file = try SafetensorsFile(bytes: w.serialize(), name: "nf.safetensors")
        #expect(AttnErrorText { _ = try TraceReader(file: file) }
                == "nf.safetensors: seq0.layer0.q: non-finite value nan at [head 1, token 2, dim 1] (flat index 16); pass --allow-nonfinite to accept")
        let r = try TraceReader(file: file, options: .init(allowNonFinite: true))
        #expect(try r.q(seq: 0, layer: 0)[16].isNaN)
        #expect(try r.k(seq: 0, layer: 0)[5] == -.infinity)
    }

    @Test func metadataEncodingIsDocumented() {
        let m = TraceMetadata(model: "x", architecture: "llama", layers: 30, heads: 9, kvHeads: 3, headDim: 64,
                              causal: true, scale: 0.125, promptTokens: [5, 7], extras: ["dtype": "F16"]).encoded()
        #expect(m["prompt_tokens"] == "[5, 7]")
        #expect(m["sequences"] == "2")
        #expect(m["scale"] == "0.125")
        #expect(m["causal"] == "true")
        #expect(m["format"] == "attnsim-trace" && m["version"] == "1")
        #expect(m["kv_heads"] == "3" && m["head_dim"] == "64" && m["dtype"] == "F16")
    }
}

@Suite struct TraceNameTests {
    @Test(arguments: ["seq00.tokens", "seq0.layer1.q", "seq0.tokens.x", "seq-0.tokens", "seq0.layer0.o", "x"])
    func unexpectedNamesAreReported(extra: String) throws {
        let file = try TraceTests.rawTrace(TraceTests.goodMeta(), TraceTests.goodTensors + [(extra, .f16, [1])])
        #expect(AttnErrorText { _ = try TraceReader(file: file) } == "bad.safetensors: \(extra): unexpected tensor (the schema has only seq{S}.tokens and seq{S}.layer{L}.q/k/v for S < 1, L < 1)")
    }
}
