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
    /// Decoder only: record one sequence, the text from this line (1-based) on, lines joined by
    /// newlines and tokenized as one passage (long-context traces), instead of one per line.
    public var passageLine: Int?
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
        var notes: [String] = []
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
            var nllSum = 0.0, predicted = 0
            // Every position, prompt and generated, must lie within the model's context (RoPE was
            // trained up to it): longer prompts are cut to context − generate (said in the summary).
            guard o.generate < c.contextLength else {
                throw AttnError.usage(flag: "--generate", message: "\(o.generate) tokens leave no room for a prompt in the model's context of \(c.contextLength)")
            }
            let maxPrompt = min(o.maxTokens, c.contextLength - o.generate)
            var texts = lines
            if let start = o.passageLine {
                // At most 8 scalars per token (as eval's passages); the tokens are cut to maxPrompt below.
                texts = [try Passages.text(o.text, startLine: start, maxScalars: 8 * maxPrompt)]
            }
            for (s, line) in texts.enumerated() {
                let ids = bpe.encode(line)
                if ids.count > maxPrompt && maxPrompt < o.maxTokens && notes.isEmpty {
                    notes.append("prompts cut to \(maxPrompt) tokens: the model's context is \(c.contextLength), \(o.generate) generated")
                }
                let prompt = Array(ids.prefix(maxPrompt))
                guard !prompt.isEmpty else { throw AttnError.input(file: o.text, item: "line \(s + 1)", message: "tokenizes to nothing") }
                let (generated, nll) = try model.generate(prompt: prompt, count: o.generate, seam: recorder, sequence: s)
                tokenLists.append(prompt + generated)
                prompts.append(prompt.count)
                nllSum += nll * Double(prompt.count - 1)
                predicted += prompt.count - 1
            }
            // The model's own perplexity on the prompts: a check that long positions stay sane.
            if predicted > 0 { notes.append("prompt perplexity \(CSV.number((exp(nllSum / Double(predicted)) * 1000).rounded() / 1000))") }
            metadata = TraceMetadata(model: (o.model as NSString).lastPathComponent, architecture: "llama", layers: c.layers,
                                     heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, causal: true,
                                     scale: 1 / Float(c.headDim).squareRoot(), promptTokens: prompts)
        }
        metadata.extras["source"] = (o.text as NSString).lastPathComponent
            + (o.passageLine.map { " (one passage from line \($0))" } ?? " (\(lines.count) lines)")
        metadata.extras["recorder"] = "attnsim record \(AttnSimVersion.string)"
        var writer = TraceWriter(metadata: metadata, dtype: o.dtype)
        for (s, tokens) in tokenLists.enumerated() {
            writer.addTokens(sequence: s, tokens)
            for l in 0..<metadata.layers {
                guard let t = recorder.take(sequence: s, layer: l) else {
                    throw AttnError.runtime("internal: no attention recorded for sequence \(s) layer \(l)")
                }
                writer.addLayer(sequence: s, layer: l, tokens: tokens.count, q: t.q, k: t.k, v: t.v)
            }
        }
        try writer.write(to: o.out)
        return "recorded \(tokenLists.count) sequences (\(tokenLists.map(\.count).reduce(0, +)) tokens) of \(metadata.model) to \(o.out)"
            + notes.map { "; " + $0 }.joined()
    }
}
