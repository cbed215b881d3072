import AttnCore
import Foundation
import ReferenceModels

/// `attnsim record`: runs a reference model over text, one sequence per non-empty line, and writes
/// what its attention unit saw as a trace (docs/trace-format.md). A directory with config.json is a
/// BERT encoder (bidirectional, prefill only); a .gguf file is a Llama decoder (causal; with
/// `generate` > 0 each line's prompt is followed by that many greedy tokens, recorded as decode rows).
public struct RecordOptions: Sendable {
    public var model: String
    public var text: String
    public var out: String
    public var maxTokens = 128
    public var sequences = Int.max
    public var generate = 0
    public var dtype: TensorDType = .f16
    public init(model: String, text: String, out: String) {
        self.model = model
        self.text = text
        self.out = out
    }
}

public enum Recording {
    public static func lines(_ path: String, limit: Int) throws(AttnError) -> [String] {
        let text = try InputFile.readText(path, kind: "a text file")
        let lines = textLines(text).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw AttnError.input(file: path, item: nil, message: "no non-empty line to record") }
        return Array(lines.prefix(limit))
    }

    /// Records the trace and returns a one-line summary.
    public static func record(_ o: RecordOptions) throws(AttnError) -> String {
        let lines = try lines(o.text, limit: o.sequences)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: o.model, isDirectory: &isDir) else {
            throw AttnError.input(file: o.model, item: nil, message: "no such model (expected a directory with config.json, model.safetensors and vocab.txt, or a .gguf file)")
        }
        let recorder = TraceRecorder()
        var metadata: TraceMetadata
        var tokenLists: [[Int]] = []
        if isDir.boolValue {
            let encoder = try BertEncoder(directory: o.model)
            let c = encoder.config
            for (s, line) in lines.enumerated() {
                let ids = encoder.tokenizer.encode(line, maxLength: o.maxTokens)
                _ = try encoder.forward(ids, seam: recorder, sequence: s)
                tokenLists.append(ids.map(Int.init))
            }
            metadata = TraceMetadata(model: (o.model as NSString).lastPathComponent, architecture: "bert", layers: c.numHiddenLayers,
                                     heads: c.numAttentionHeads, kvHeads: c.numAttentionHeads, headDim: c.headDim, causal: false,
                                     scale: 1 / Float(c.headDim).squareRoot(), promptTokens: tokenLists.map(\.count))
        } else {
            let model = try LlamaModel(path: o.model)
            let bpe = try ByteLevelBPE(gguf: GGUFFile(path: o.model))
            let c = model.config
            var prompts: [Int] = []
            for (s, line) in lines.enumerated() {
                let prompt = Array(bpe.encode(line).prefix(o.maxTokens))
                guard !prompt.isEmpty else { throw AttnError.input(file: o.text, item: "line \(s + 1)", message: "tokenizes to nothing") }
                let (generated, _) = try model.generate(prompt: prompt, count: o.generate, seam: recorder, sequence: s)
                tokenLists.append(prompt + generated)
                prompts.append(prompt.count)
            }
            metadata = TraceMetadata(model: (o.model as NSString).lastPathComponent, architecture: "llama", layers: c.layers,
                                     heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, causal: true,
                                     scale: 1 / Float(c.headDim).squareRoot(), promptTokens: prompts)
        }
        metadata.extras["source"] = (o.text as NSString).lastPathComponent + " (\(lines.count) lines)"
        metadata.extras["recorder"] = "attnsim record \(AttnSimVersion.string)"
        var writer = TraceWriter(metadata: metadata, dtype: o.dtype)
        for (s, tokens) in tokenLists.enumerated() {
            writer.addTokens(sequence: s, tokens)
            for l in 0..<metadata.layers {
                guard let t = recorder.tensors(sequence: s, layer: l) else {
                    throw AttnError.runtime("internal: no attention recorded for sequence \(s) layer \(l)")
                }
                writer.addLayer(sequence: s, layer: l, tokens: tokens.count, q: t.q, k: t.k, v: t.v)
            }
        }
        try writer.write(to: o.out)
        return "recorded \(tokenLists.count) sequences (\(tokenLists.map(\.count).reduce(0, +)) tokens) of \(metadata.model) to \(o.out)"
    }
}
