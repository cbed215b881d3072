import Foundation

/// Attention traces: what the attention unit sees for every layer of a transformer run, stored as a
/// safetensors file (schema in docs/trace-format.md).
///
/// Tensors (S = sequence index from 0, L = layer index from 0, T = tokens of sequence S):
///   `seq{S}.tokens`    I32 [T]                      token ids
///   `seq{S}.layer{L}.q` F16|BF16|F32 [heads, T, head_dim]     queries (after rotary embedding, if any)
///   `seq{S}.layer{L}.k` F16|BF16|F32 [kv_heads, T, head_dim]  keys (after rotary embedding, if any)
///   `seq{S}.layer{L}.v` F16|BF16|F32 [kv_heads, T, head_dim]  values
/// `__metadata__` holds `TraceMetadata` (all values are strings, as safetensors requires).

/// The `__metadata__` of a trace.
public struct TraceMetadata: Sendable, Equatable {
    /// Value of the `format` key.
    public static let formatName = "attnsim-trace"
    /// The version this code writes; it reads `supportedVersions`.
    public static let currentVersion = 1
    public static let supportedVersions: ClosedRange<Int> = 1...1
    /// Keys with a meaning; every other key is an extra.
    public static let reservedKeys: Set<String> = [
        "format", "version", "model", "architecture", "layers", "heads", "kv_heads", "head_dim",
        "causal", "scale", "prompt_tokens", "sequences",
    ]

    public var version: Int
    /// Model name, e.g. "sentence-transformers/all-MiniLM-L6-v2".
    public var model: String
    /// Model family, e.g. "bert" or "llama".
    public var architecture: String
    public var layers: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads (grouped-query attention: each serves heads / kv_heads query heads).
    public var kvHeads: Int
    public var headDim: Int
    /// Causal (decoder) attention: row t attends to columns 0…t.
    public var causal: Bool
    /// Softmax scale applied to Q·Kᵀ (usually 1/√head_dim).
    public var scale: Double
    /// Per sequence: rows 0..<promptTokens are prefill; each later row is one decode step. For a
    /// non-causal trace this equals the sequence's T.
    public var promptTokens: [Int]
    /// Free-form string metadata (e.g. `dtype`, `source_text`, `command`); keys must not be reserved.
    public var extras: [String: String]

    public init(version: Int = TraceMetadata.currentVersion, model: String, architecture: String, layers: Int,
                heads: Int, kvHeads: Int, headDim: Int, causal: Bool, scale: Double,
                promptTokens: [Int] = [], extras: [String: String] = [:]) {
        self.version = version
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

    /// Number of sequences (the `sequences` key).
    public var sequences: Int { promptTokens.count }

    /// The string map stored as `__metadata__`. Numbers are decimal; `scale` is the shortest
    /// round-trip decimal; `causal` is `true`/`false`; `prompt_tokens` is a JSON list like `[5, 7]`.
    public func encoded() -> [String: String] {
        var m = extras
        m["format"] = Self.formatName
        m["version"] = String(version)
        m["model"] = model
        m["architecture"] = architecture
        m["layers"] = String(layers)
        m["heads"] = String(heads)
        m["kv_heads"] = String(kvHeads)
        m["head_dim"] = String(headDim)
        m["causal"] = causal ? "true" : "false"
        m["scale"] = CSVWriter.format(scale)
        m["prompt_tokens"] = "[" + promptTokens.map(String.init).joined(separator: ", ") + "]"
        m["sequences"] = String(promptTokens.count)
        return m
    }

    /// Parses and checks a `__metadata__` map; errors name `file` and the key.
    public static func decode(_ m: [String: String], file: String, limits: TraceLimits = TraceLimits()) throws(AttnError) -> TraceMetadata {
        func bad(_ key: String, _ message: String) -> AttnError { .input(file: file, item: "__metadata__.\(key)", message: message) }
        func value(_ key: String) throws(AttnError) -> String {
            guard let v = m[key] else { throw bad(key, "missing (required in an \(formatName) file)") }
            return v
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws(AttnError) -> Int {
            let s = try value(key)
            guard let v = Int(s) else { throw bad(key, "expected an integer, found '\(s)'") }
            guard range.contains(v) else { throw bad(key, "\(v) is out of range \(range.lowerBound)...\(range.upperBound)") }
            return v
        }
        guard let format = m["format"] else {
            throw AttnError.input(file: file, item: "__metadata__.format", message: "missing: not an \(formatName) file")
        }
        guard format == formatName else {
            throw bad("format", "expected '\(formatName)', found '\(format)'")
        }
        let versionText = try value("version")
        guard let version = Int(versionText) else { throw bad("version", "expected an integer, found '\(versionText)'") }
        guard supportedVersions.contains(version) else {
            throw bad("version", "trace format version \(version) is not supported (this attnsim reads \(supportedVersions.lowerBound)...\(supportedVersions.upperBound))")
        }
        let model = try value("model")
        let architecture = try value("architecture")
        guard !architecture.isEmpty else { throw bad("architecture", "must not be empty") }
        let layers = try int("layers", 1...limits.maxLayers)
        let heads = try int("heads", 1...limits.maxHeads)
        let kvHeads = try int("kv_heads", 1...limits.maxHeads)
        guard heads % kvHeads == 0 else {
            throw bad("kv_heads", "heads (\(heads)) must be a multiple of kv_heads (\(kvHeads))")
        }
        let headDim = try int("head_dim", 1...limits.maxHeadDim)
        let causalText = try value("causal")
        guard causalText == "true" || causalText == "false" else { throw bad("causal", "expected 'true' or 'false', found '\(causalText)'") }
        let scaleText = try value("scale")
        guard let scale = Double(scaleText), scale.isFinite, scale > 0 else {
            throw bad("scale", "expected a positive finite number, found '\(scaleText)'")
        }
        let ptText = try value("prompt_tokens")
        guard let prompt = parseIntList(ptText) else {
            throw bad("prompt_tokens", "expected a JSON list of integers like [5, 7], found '\(ptText)'")
        }
        let sequences = try int("sequences", 1...limits.maxSequences)
        guard prompt.count == sequences else {
            throw bad("prompt_tokens", "has \(prompt.count) entries but sequences is \(sequences)")
        }
        var extras = m
        for k in reservedKeys { extras[k] = nil }
        return TraceMetadata(version: version, model: model, architecture: architecture, layers: layers, heads: heads,
                             kvHeads: kvHeads, headDim: headDim, causal: causalText == "true", scale: scale,
                             promptTokens: prompt, extras: extras)
    }

    /// Parses `[1, 2, 3]` (spaces optional); nil if malformed.
    static func parseIntList(_ s: String) -> [Int]? {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("["), t.hasSuffix("]") else { return nil }
        let inner = t.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        var out: [Int] = []
        for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)) else { return nil }
            out.append(v)
        }
        return out
    }
}

/// Sanity limits checked before any tensor is read, so that a corrupt or hostile trace cannot make
/// us allocate absurd buffers. Defaults fit every model we target with a wide margin.
public struct TraceLimits: Sendable, Equatable {
    /// Default 1024.
    public var maxLayers = 1024
    /// Default 1024 (query and key/value heads).
    public var maxHeads = 1024
    /// Default 4096.
    public var maxHeadDim = 4096
    /// Tokens per sequence, default 1,048,576.
    public var maxTokens = 1 << 20
    /// Default 100,000.
    public var maxSequences = 100_000
    /// Elements of one Q/K/V tensor (heads × T × head_dim), default 2²⁸ (1 GiB as Float).
    public var maxTensorElements = 1 << 28

    public init() {}
}

/// Which of the three per-layer tensors.
public enum TraceTensorKind: String, Sendable, CaseIterable {
    case q, k, v
}

/// Tensor names of the trace schema.
public enum TraceNames {
    public static func tokens(seq: Int) -> String { "seq\(seq).tokens" }
    public static func tensor(seq: Int, layer: Int, _ kind: TraceTensorKind) -> String { "seq\(seq).layer\(layer).\(kind.rawValue)" }
}

/// A validated, memory-mapped trace. `init` checks everything before any work starts:
/// the metadata (format, supported version, sane dimensions, heads divisible by kv_heads), that the
/// tensor set is exactly `seq{S}.tokens` and `seq{S}.layer{L}.{q,k,v}` for every S < sequences and
/// L < layers (missing and unexpected tensors are both errors), dtypes (I32 tokens, F16/BF16/F32
/// Q/K/V), shapes `[T]`, `[heads, T, head_dim]`, `[kv_heads, T, head_dim]` with one T per sequence,
/// 1 ≤ T ≤ limit, 1 ≤ prompt_tokens ≤ T (= T for non-causal traces), token ids ≥ 0, and — unless
/// `allowNonFinite` — that Q/K/V hold no NaN or ±inf (the error names the tensor and `[head, token, dim]`).
public final class TraceReader: Sendable {
    public struct Options: Sendable {
        /// Accept NaN/±inf in Q/K/V (the `--allow-nonfinite` policy); default false.
        public var allowNonFinite = false
        public var limits = TraceLimits()
        public init(allowNonFinite: Bool = false, limits: TraceLimits = TraceLimits()) {
            self.allowNonFinite = allowNonFinite
            self.limits = limits
        }
    }

    public let file: SafetensorsFile
    public let metadata: TraceMetadata
    /// T of each sequence.
    public let tokenCounts: [Int]
    public var path: String { file.path }

    public convenience init(path: String, options: Options = Options()) throws(AttnError) {
        try self.init(file: SafetensorsFile(path: path), options: options)
    }

    public init(file: SafetensorsFile, options: Options = Options()) throws(AttnError) {
        self.file = file
        let path = file.path
        let limits = options.limits
        let md = try TraceMetadata.decode(file.metadata, file: path, limits: limits)
        func bad(_ item: String, _ message: String) -> AttnError { .input(file: path, item: item, message: message) }

        // Exactly the expected tensor set.
        let expectedCount = md.sequences * (1 + 3 * md.layers)
        var counts: [Int] = []
        for s in 0..<md.sequences {
            let tokName = TraceNames.tokens(seq: s)
            guard let tok = file.tensorInfo(tokName) else { throw bad(tokName, "missing tensor (metadata says \(md.sequences) sequences)") }
            guard tok.dtype == .i32 else { throw bad(tokName, "expected dtype I32, found \(tok.dtype.rawValue)") }
            guard tok.shape.count == 1 else { throw bad(tokName, "expected shape [T], found \(tok.shape)") }
            let t = tok.shape[0]
            guard t >= 1 else { throw bad(tokName, "empty sequence (T = 0); a trace sequence needs at least one token") }
            guard t <= limits.maxTokens else { throw bad(tokName, "T = \(t) exceeds the limit of \(limits.maxTokens) tokens") }
            let p = md.promptTokens[s]
            guard p >= 1, p <= t else {
                throw bad("__metadata__.prompt_tokens", "sequence \(s): prompt_tokens \(p) must be in 1...\(t) (T of \(tokName))")
            }
            if !md.causal, p != t {
                throw bad("__metadata__.prompt_tokens", "sequence \(s): a non-causal trace has no decode phase, prompt_tokens must equal T = \(t), found \(p)")
            }
            for (i, id) in try file.int32s(tokName).enumerated() where id < 0 {
                throw bad(tokName, "negative token id \(id) at index \(i)")
            }
            for layer in 0..<md.layers {
                for kind in TraceTensorKind.allCases {
                    let name = TraceNames.tensor(seq: s, layer: layer, kind)
                    guard let info = file.tensorInfo(name) else {
                        throw bad(name, "missing tensor (metadata says \(md.layers) layers, \(md.sequences) sequences)")
                    }
                    guard info.dtype == .f16 || info.dtype == .bf16 || info.dtype == .f32 else {
                        throw bad(name, "expected dtype F16, BF16 or F32, found \(info.dtype.rawValue)")
                    }
                    let h = kind == .q ? md.heads : md.kvHeads
                    guard info.shape == [h, t, md.headDim] else {
                        throw bad(name, "expected shape [\(h), \(t), \(md.headDim)] ([\(kind == .q ? "heads" : "kv_heads"), T of \(tokName), head_dim]), found \(info.shape)")
                    }
                    guard info.elementCount <= limits.maxTensorElements else {
                        throw bad(name, "\(info.elementCount) elements exceed the limit of \(limits.maxTensorElements)")
                    }
                    if !options.allowNonFinite {
                        try Self.checkFinite(file, info, t: t, headDim: md.headDim)
                    }
                }
            }
            counts.append(t)
        }
        if file.tensors.count != expectedCount {
            let extra = file.names.filter { name in !Self.isExpected(name, md) }.sorted()
            throw bad(extra.first ?? "header", "unexpected tensor (the schema has only seq{S}.tokens and seq{S}.layer{L}.q/k/v for S < \(md.sequences), L < \(md.layers))")
        }
        self.metadata = md
        self.tokenCounts = counts
    }

    /// Whether `name` is `seq{S}.tokens` or `seq{S}.layer{L}.{q,k,v}` with S, L in range (parsed, not
    /// enumerated, so a hostile header cannot make this quadratic).
    private static func isExpected(_ name: String, _ md: TraceMetadata) -> Bool {
        func index(_ s: Substring, prefix: String, below limit: Int) -> Bool {
            guard s.hasPrefix(prefix), let v = Int(s.dropFirst(prefix.count)), String(v) == s.dropFirst(prefix.count) else { return false }
            return (0..<limit).contains(v)
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard let first = parts.first, index(first, prefix: "seq", below: md.sequences) else { return false }
        if parts.count == 2 { return parts[1] == "tokens" }
        return parts.count == 3 && index(parts[1], prefix: "layer", below: md.layers) && ["q", "k", "v"].contains(parts[2])
    }

    /// Scans raw bits for an all-ones exponent (NaN or inf) without converting.
    private static func checkFinite(_ file: SafetensorsFile, _ info: SafetensorsTensorInfo, t: Int, headDim: Int) throws(AttnError) {
        let bad: Int? = try? file.withRawBytes(info.name) { raw -> Int? in
            switch info.dtype {
            case .f16:
                for i in 0..<info.elementCount where raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7C00 == 0x7C00 { return i }
            case .bf16:
                for i in 0..<info.elementCount where raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7F80 == 0x7F80 { return i }
            default:
                for i in 0..<info.elementCount where raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7F80_0000 == 0x7F80_0000 { return i }
            }
            return nil
        }
        guard let i = bad ?? nil else { return }
        let value = try file.floats(info.name)[i]
        let (h, rest) = i.quotientAndRemainder(dividingBy: t * headDim)
        let (tok, d) = rest.quotientAndRemainder(dividingBy: headDim)
        throw AttnError.input(file: file.path, item: info.name,
                              message: "non-finite value \(value) at [head \(h), token \(tok), dim \(d)] (flat index \(i)); pass --allow-nonfinite to accept")
    }

    public var sequences: Int { metadata.sequences }
    public var layers: Int { metadata.layers }

    /// Token ids of sequence `seq`.
    public func tokens(seq: Int) throws(AttnError) -> [Int32] {
        try file.int32s(TraceNames.tokens(seq: seq))
    }

    /// Q, K or V of (seq, layer) as Float, flat [heads or kv_heads, T, head_dim] in C order.
    public func tensor(seq: Int, layer: Int, _ kind: TraceTensorKind) throws(AttnError) -> [Float] {
        try checkIndex(seq: seq, layer: layer)
        return try file.floats(TraceNames.tensor(seq: seq, layer: layer, kind))
    }

    /// Reads Q, K or V of (seq, layer) into `dst` (count must be the tensor's element count).
    public func read(seq: Int, layer: Int, _ kind: TraceTensorKind, into dst: UnsafeMutableBufferPointer<Float>) throws(AttnError) {
        try checkIndex(seq: seq, layer: layer)
        try file.readFloats(TraceNames.tensor(seq: seq, layer: layer, kind), into: dst)
    }

    public func q(seq: Int, layer: Int) throws(AttnError) -> [Float] { try tensor(seq: seq, layer: layer, .q) }
    public func k(seq: Int, layer: Int) throws(AttnError) -> [Float] { try tensor(seq: seq, layer: layer, .k) }
    public func v(seq: Int, layer: Int) throws(AttnError) -> [Float] { try tensor(seq: seq, layer: layer, .v) }

    private func checkIndex(seq: Int, layer: Int) throws(AttnError) {
        guard (0..<metadata.sequences).contains(seq), (0..<metadata.layers).contains(layer) else {
            throw AttnError.input(file: path, item: "seq\(seq).layer\(layer)",
                                  message: "out of range (trace has \(metadata.sequences) sequences, \(metadata.layers) layers)")
        }
    }
}

/// Accumulates a trace and writes it atomically. Add each sequence with `addSequence`, then each of its
/// layers with `setLayer`; `write` checks that every (sequence, layer) is present. Q/K/V are stored
/// as `dtype` (F16 by default, rounded to nearest even; F32 and BF16 also allowed); `extras["dtype"]`
/// records it.
public struct TraceWriter: Sendable {
    public private(set) var metadata: TraceMetadata
    public let dtype: SafetensorsDType
    private var writer: SafetensorsWriter
    private var tokenCounts: [Int] = []
    private var present: [[Bool]] = []

    /// `metadata.promptTokens` must be empty: it is filled by `addSequence`.
    public init(metadata: TraceMetadata, dtype: SafetensorsDType = .f16) throws(AttnError) {
        func bad(_ m: String) -> AttnError { .runtime("trace writer: \(m)") }
        guard metadata.promptTokens.isEmpty else { throw bad("promptTokens must be empty; addSequence fills it") }
        guard [.f16, .bf16, .f32].contains(dtype) else { throw bad("dtype must be F16, BF16 or F32, not \(dtype.rawValue)") }
        guard metadata.layers >= 1, metadata.heads >= 1, metadata.kvHeads >= 1, metadata.headDim >= 1 else {
            throw bad("layers, heads, kv_heads and head_dim must be ≥ 1")
        }
        guard metadata.heads % metadata.kvHeads == 0 else { throw bad("heads (\(metadata.heads)) must be a multiple of kv_heads (\(metadata.kvHeads))") }
        guard metadata.scale.isFinite, metadata.scale > 0 else { throw bad("scale must be a positive finite number") }
        let clash = metadata.extras.keys.filter { TraceMetadata.reservedKeys.contains($0) }.sorted()
        guard clash.isEmpty else { throw bad("extras use reserved key(s) \(clash.joined(separator: ", "))") }
        self.metadata = metadata
        self.metadata.version = TraceMetadata.currentVersion
        if self.metadata.extras["dtype"] == nil { self.metadata.extras["dtype"] = dtype.rawValue }
        self.dtype = dtype
        self.writer = SafetensorsWriter(label: "trace writer")
    }

    /// Adds a sequence of `tokens.count` ≥ 1 tokens whose first `promptTokens` rows are prefill
    /// (must equal T for a non-causal trace); returns its index S.
    @discardableResult
    public mutating func addSequence(tokens: [Int32], promptTokens: Int) throws(AttnError) -> Int {
        let t = tokens.count
        guard t >= 1 else { throw AttnError.runtime("trace writer: a sequence needs at least one token") }
        guard promptTokens >= 1, promptTokens <= t else { throw AttnError.runtime("trace writer: promptTokens \(promptTokens) must be in 1...\(t)") }
        guard metadata.causal || promptTokens == t else {
            throw AttnError.runtime("trace writer: a non-causal trace has no decode phase: promptTokens must equal T = \(t)")
        }
        let s = tokenCounts.count
        try writer.add(TraceNames.tokens(seq: s), shape: [t], int32s: tokens)
        tokenCounts.append(t)
        present.append([Bool](repeating: false, count: metadata.layers))
        metadata.promptTokens.append(promptTokens)
        return s
    }

    /// Stores one layer of sequence `seq`: q is [heads, T, head_dim], k and v [kv_heads, T, head_dim], flat C order.
    public mutating func setLayer(seq: Int, layer: Int, q: [Float], k: [Float], v: [Float]) throws(AttnError) {
        guard (0..<tokenCounts.count).contains(seq) else { throw AttnError.runtime("trace writer: sequence \(seq) was not added") }
        guard (0..<metadata.layers).contains(layer) else { throw AttnError.runtime("trace writer: layer \(layer) is out of range 0..<\(metadata.layers)") }
        guard !present[seq][layer] else { throw AttnError.runtime("trace writer: seq\(seq).layer\(layer) was already set") }
        let t = tokenCounts[seq]
        let qShape = [metadata.heads, t, metadata.headDim]
        let kvShape = [metadata.kvHeads, t, metadata.headDim]
        for (kind, data, shape) in [(TraceTensorKind.q, q, qShape), (.k, k, kvShape), (.v, v, kvShape)] where data.count != shape.reduce(1, *) {
            throw AttnError.runtime("trace writer: seq\(seq).layer\(layer).\(kind.rawValue) has \(data.count) values, expected \(shape) = \(shape.reduce(1, *))")
        }
        try writer.add(TraceNames.tensor(seq: seq, layer: layer, .q), shape: qShape, floats: q, as: dtype)
        try writer.add(TraceNames.tensor(seq: seq, layer: layer, .k), shape: kvShape, floats: k, as: dtype)
        try writer.add(TraceNames.tensor(seq: seq, layer: layer, .v), shape: kvShape, floats: v, as: dtype)
        present[seq][layer] = true
    }

    /// The complete file image; throws if a sequence is missing a layer or no sequence was added.
    public func serialize() throws(AttnError) -> [UInt8] {
        guard !tokenCounts.isEmpty else { throw AttnError.runtime("trace writer: no sequence was added") }
        for (s, layers) in present.enumerated() {
            if let l = layers.firstIndex(of: false) { throw AttnError.runtime("trace writer: seq\(s).layer\(l) was never set") }
        }
        var w = writer
        w.metadata = metadata.encoded()
        return w.serialize()
    }

    /// Writes the trace atomically (temporary file + rename).
    public func write(to path: String) throws(AttnError) {
        try AtomicFile.write(serialize(), to: path)
    }
}
