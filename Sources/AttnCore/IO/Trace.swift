import Foundation

/// What a trace says about the model that produced it (the `__metadata__` of the safetensors file).
/// See docs/trace-format.md.
public struct TraceMetadata: Sendable, Equatable {
    public static let format = "attnsim-trace"
    public static let version = 1

    public var model: String
    /// "bert" (bidirectional encoder) or "llama" (causal decoder); free text for other families.
    public var architecture: String
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var causal: Bool
    /// Softmax scale applied to q·k.
    public var scale: Float
    /// Per sequence: rows before this index are prefill; each later row is one decode step.
    public var promptTokens: [Int]
    /// Free-form provenance (source text, command line, dtype, ...), kept verbatim.
    public var extras: [String: String]

    public init(model: String, architecture: String, layers: Int, heads: Int, kvHeads: Int, headDim: Int,
                causal: Bool, scale: Float, promptTokens: [Int], extras: [String: String] = [:]) {
        self.model = model
        self.architecture = architecture
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.causal = causal
        self.scale = scale
        self.promptTokens = promptTokens
        self.extras = extras
    }

    public var sequences: Int { promptTokens.count }

    static let reservedKeys: Set<String> = ["format", "version", "model", "architecture", "layers", "heads", "kv_heads",
                                            "head_dim", "causal", "scale", "prompt_tokens", "sequences"]

    /// The `__metadata__` map.
    public var strings: [String: String] {
        var m = extras
        m["format"] = Self.format
        m["version"] = String(Self.version)
        m["model"] = model
        m["architecture"] = architecture
        m["layers"] = String(layers)
        m["heads"] = String(heads)
        m["kv_heads"] = String(kvHeads)
        m["head_dim"] = String(headDim)
        m["causal"] = causal ? "true" : "false"
        m["scale"] = "\(scale)"
        m["prompt_tokens"] = "[" + promptTokens.map(String.init).joined(separator: ",") + "]"
        m["sequences"] = String(promptTokens.count)
        return m
    }

    /// Parses and checks the metadata of `file`.
    public init(strings m: [String: String], file: String) throws(AttnError) {
        func fail(_ key: String, _ message: String) -> AttnError { .input(file: file, item: "__metadata__.\(key)", message: message) }
        func get(_ key: String) throws(AttnError) -> String {
            guard let v = m[key] else { throw fail(key, "missing (an attnsim trace needs format, version, model, architecture, layers, heads, kv_heads, head_dim, causal, scale, prompt_tokens)") }
            return v
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws(AttnError) -> Int {
            let text = try get(key)
            guard let v = Int(text), range.contains(v) else { throw fail(key, "expected an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'") }
            return v
        }
        let format = try get("format")
        guard format == Self.format else { throw fail("format", "expected '\(Self.format)', got '\(format)' (not an attention trace?)") }
        let version = try int("version", 1...1_000)
        guard version == Self.version else { throw fail("version", "trace version \(version) is not supported (this attnsim reads version \(Self.version))") }
        model = try get("model")
        architecture = try get("architecture")
        layers = try int("layers", 1...4096)
        heads = try int("heads", 1...4096)
        kvHeads = try int("kv_heads", 1...4096)
        headDim = try int("head_dim", 1...65536)
        guard heads % kvHeads == 0 else { throw fail("kv_heads", "heads (\(heads)) must be a multiple of kv_heads (\(kvHeads))") }
        let causalText = try get("causal")
        guard causalText == "true" || causalText == "false" else { throw fail("causal", "expected true or false, got '\(causalText)'") }
        causal = causalText == "true"
        let scaleText = try get("scale")
        guard let s = Float(scaleText), s.isFinite, s > 0 else { throw fail("scale", "expected a positive number, got '\(scaleText)'") }
        scale = s
        let pt = try get("prompt_tokens")
        let inner = pt.trimmingCharacters(in: .whitespaces)
        guard inner.hasPrefix("["), inner.hasSuffix("]") else { throw fail("prompt_tokens", "expected a list like [12,15], got '\(pt)'") }
        let body = inner.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        var counts: [Int] = []
        if !body.isEmpty {
            for part in body.split(separator: ",", omittingEmptySubsequences: false) {
                guard let v = Int(part.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                    throw fail("prompt_tokens", "expected non-negative integers, got '\(part)'")
                }
                counts.append(v)
            }
        }
        guard !counts.isEmpty else { throw fail("prompt_tokens", "the trace has no sequences") }
        guard counts.count <= 1_000_000 else { throw fail("prompt_tokens", "too many sequences (\(counts.count))") }
        if let n = m["sequences"], Int(n) != counts.count {
            throw fail("sequences", "says \(n) but prompt_tokens lists \(counts.count)")
        }
        promptTokens = counts
        extras = m.filter { !Self.reservedKeys.contains($0.key) }
    }

    public static func tokensName(_ s: Int) -> String { "seq\(s).tokens" }
    public static func tensorName(_ s: Int, _ l: Int, _ which: String) -> String { "seq\(s).layer\(l).\(which)" }
}

/// Q, K and V of one sequence and layer, as the attention unit sees them.
public struct TraceLayer: Sendable {
    public let sequence: Int
    public let layer: Int
    /// Tokens in the sequence (rows).
    public let tokens: Int
    /// [heads, tokens, headDim]
    public var q: [Float]
    /// [kvHeads, tokens, headDim]
    public var k: [Float]
    /// [kvHeads, tokens, headDim]
    public var v: [Float]
}

/// Options for opening a trace.
public struct TraceReadOptions: Sendable {
    /// Accept NaN/Inf in Q/K/V instead of rejecting the trace.
    public var allowNonFinite = false
    /// Largest element count of one tensor (protects against absurd shapes exhausting memory).
    public var maxTensorElements = 1 << 31
    public init(allowNonFinite: Bool = false) { self.allowNonFinite = allowNonFinite }
}

/// An attention trace opened read-only (memory-mapped) and validated completely before any work
/// starts: metadata, every expected tensor's presence, dtype and shape, consistent sequence lengths,
/// prompt lengths within the sequence, and finite Q/K/V values.
public final class TraceReader: @unchecked Sendable {
    public let path: String
    public let metadata: TraceMetadata
    public let file: SafetensorsFile
    /// Tokens per sequence.
    public let lengths: [Int]

    public init(path: String, options: TraceReadOptions = TraceReadOptions()) throws(AttnError) {
        self.path = path
        let file = try SafetensorsFile(path: path)
        self.file = file
        let meta = try TraceMetadata(strings: file.metadata, file: path)
        self.metadata = meta
        func fail(_ item: String, _ message: String) -> AttnError { .input(file: path, item: item, message: message) }

        var lengths: [Int] = []
        var expected = Set<String>()
        for s in 0..<meta.sequences {
            let tokName = TraceMetadata.tokensName(s)
            guard file.contains(tokName) else { throw fail(tokName, "missing (the metadata lists \(meta.sequences) sequences)") }
            let tok = try file.info(tokName)
            guard tok.dtype == .i32 || tok.dtype == .i64, tok.shape.count == 1 else {
                throw fail(tokName, "expected I32 [T], found \(tok.dtype.rawValue) \(tok.shape)")
            }
            let t = tok.shape[0]
            guard t >= 1 else { throw fail(tokName, "zero-length sequence") }
            guard meta.promptTokens[s] <= t else {
                throw fail("__metadata__.prompt_tokens", "sequence \(s) has \(t) tokens but prompt_tokens says \(meta.promptTokens[s])")
            }
            if !meta.causal && meta.promptTokens[s] != t {
                throw fail("__metadata__.prompt_tokens", "a non-causal trace has no decode rows: prompt_tokens[\(s)] must equal its \(t) tokens")
            }
            expected.insert(tokName)
            for l in 0..<meta.layers {
                for (which, h) in [("q", meta.heads), ("k", meta.kvHeads), ("v", meta.kvHeads)] {
                    let name = TraceMetadata.tensorName(s, l, which)
                    guard file.contains(name) else { throw fail(name, "missing (metadata: \(meta.layers) layers, \(meta.sequences) sequences)") }
                    let info = try file.info(name)
                    guard info.dtype.isFloatingPoint else { throw fail(name, "expected F16/BF16/F32, found \(info.dtype.rawValue)") }
                    guard info.shape == [h, t, meta.headDim] else {
                        throw fail(name, "expected shape [\(h), \(t), \(meta.headDim)] (\(which == "q" ? "heads" : "kv_heads"), tokens, head_dim), found \(info.shape)")
                    }
                    guard info.elementCount <= options.maxTensorElements else {
                        throw fail(name, "\(info.elementCount) elements exceed the limit of \(options.maxTensorElements)")
                    }
                    expected.insert(name)
                }
            }
            lengths.append(t)
        }
        self.lengths = lengths
        if file.tensors.count != expected.count {
            let extra = file.tensors.map(\.name).filter { !expected.contains($0) }.sorted()
            throw fail(extra.first ?? "header", "unexpected tensor (an attnsim trace holds only seq{S}.tokens and seq{S}.layer{L}.q/k/v for S < \(meta.sequences), L < \(meta.layers))")
        }
        if !options.allowNonFinite {
            for s in 0..<meta.sequences {
                for l in 0..<meta.layers {
                    for which in ["q", "k", "v"] {
                        let name = TraceMetadata.tensorName(s, l, which)
                        let values = try file.floats(name)
                        if let i = values.firstIndex(where: { !$0.isFinite }) {
                            let (h, rest) = i.quotientAndRemainder(dividingBy: lengths[s] * meta.headDim)
                            let (t, d) = rest.quotientAndRemainder(dividingBy: meta.headDim)
                            throw fail(name, "non-finite value \(values[i]) at [head \(h), token \(t), dim \(d)] (flat index \(i); use --allow-nonfinite to accept)")
                        }
                    }
                }
            }
        }
    }

    /// Q, K, V of one sequence and layer.
    public func layer(sequence s: Int, layer l: Int) throws(AttnError) -> TraceLayer {
        TraceLayer(sequence: s, layer: l, tokens: lengths[s],
                   q: try file.floats(TraceMetadata.tensorName(s, l, "q")),
                   k: try file.floats(TraceMetadata.tensorName(s, l, "k")),
                   v: try file.floats(TraceMetadata.tensorName(s, l, "v")))
    }

    /// Token ids of a sequence.
    public func tokens(sequence s: Int) throws(AttnError) -> [Int] {
        try file.integers(TraceMetadata.tokensName(s)).map { Int($0) }
    }
}

/// Accumulates a trace and writes it atomically.
public struct TraceWriter: Sendable {
    public var metadata: TraceMetadata
    public var dtype: TensorDType
    private var writer: SafetensorsWriter

    public init(metadata: TraceMetadata, dtype: TensorDType = .f16) {
        precondition(dtype == .f16 || dtype == .f32 || dtype == .bf16, "traces store F16, BF16 or F32")
        self.metadata = metadata
        self.dtype = dtype
        self.writer = SafetensorsWriter()
    }

    public mutating func addTokens(sequence s: Int, _ tokens: [Int]) {
        writer.add(TraceMetadata.tokensName(s), int32s: tokens.map { Int32(truncatingIfNeeded: $0) }, shape: [tokens.count])
    }

    /// q: [heads, T, headDim]; k, v: [kvHeads, T, headDim].
    public mutating func addLayer(sequence s: Int, layer l: Int, tokens t: Int, q: [Float], k: [Float], v: [Float]) {
        let m = metadata
        writer.add(TraceMetadata.tensorName(s, l, "q"), floats: q, shape: [m.heads, t, m.headDim], as: dtype)
        writer.add(TraceMetadata.tensorName(s, l, "k"), floats: k, shape: [m.kvHeads, t, m.headDim], as: dtype)
        writer.add(TraceMetadata.tensorName(s, l, "v"), floats: v, shape: [m.kvHeads, t, m.headDim], as: dtype)
    }

    public func write(to path: String) throws(AttnError) {
        var w = writer
        var meta = metadata.strings
        meta["dtype"] = dtype.rawValue
        w.metadata = meta
        try w.write(to: path)
    }
}
