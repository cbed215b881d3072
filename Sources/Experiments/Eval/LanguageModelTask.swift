import AttnCore
import Foundation
import ReferenceModels

/// Held-out passages for perplexity: the lines of a text file (universal newlines) from `startLine`
/// (1-based) joined with "\n", cut to the first 8 × `tokens` Unicode scalars, tokenized, and the first `tokens` tokens kept.
/// Scripts/eval_golden.py builds the same passages.
public enum Passages {
    public static func passage(_ path: String, startLine: Int, tokens: Int, bpe: ByteLevelBPE) throws(AttnError) -> [Int] {
        let ids = bpe.encode(try text(path, startLine: startLine, maxScalars: 8 * tokens))
        guard ids.count >= tokens else {
            throw AttnError.input(file: path, item: "line \(startLine)", message: "the text from here tokenizes to \(ids.count) tokens, fewer than the \(tokens) asked for")
        }
        return Array(ids.prefix(tokens))
    }

    /// The text of `path` from line `startLine` (1-based) on, lines joined by "\n", cut to its first
    /// `maxScalars` Unicode scalars.
    public static func text(_ path: String, startLine: Int, maxScalars: Int) throws(AttnError) -> String {
        let data = try InputFile.read(path, kind: "a text file (Scripts/fetch-assets downloads the Shakespeare plays)")
        let lines = textLines(data)
        guard lines.count >= startLine else {
            throw AttnError.input(file: path, item: "line \(startLine)", message: "the file has only \(lines.count) lines")
        }
        let joined = lines[(startLine - 1)...].joined(separator: "\n")
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: joined.unicodeScalars.prefix(maxScalars))
        return String(scalars)
    }
}

/// Per-position predictions of a language model on one passage: the negative log-likelihood of
/// each next token and the arg-max token.
public struct NextTokenResults: Sendable, Equatable {
    public var nll: [Double] = []
    public var argmax: [Int] = []

    mutating func add(logits: ArraySlice<Float>, next: Int) {
        let m = logits.max()!
        var s = 0.0, best = logits.startIndex
        for i in logits.indices {
            s += exp(Double(logits[i] - m))
            if logits[i] > logits[best] { best = i }
        }
        nll.append(-(Double(logits[logits.startIndex + next] - m) - log(s)))
        argmax.append(best - logits.startIndex)
    }

    /// Logits rows computed at once in a prefill (the [rows, vocab] block, not the passage's).
    static let logitsChunk = 256

    /// Runs the passage as one prefill (`.prefill`) or as `prompt` tokens of prefill followed by
    /// one decode step per token with the KV cache (`.decode`). With `promptCache` (decode only:
    /// the KV cache after the prompt, computed once per passage with float attention by
    /// `floatPrompt`) the prompt is not run again and only the decode steps' predictions are scored.
    public static func run(_ model: LlamaModel, _ ids: [Int], mode: EvalConfig.Mode, promptTokens: Int,
                           seam: any AttentionSeam, sequence: Int, promptCache: LlamaModel.KVCache? = nil) throws(AttnError) -> NextTokenResults {
        var r = NextTokenResults()
        var cache: LlamaModel.KVCache
        let prompt: Int
        if mode == .decode, let promptCache {
            cache = promptCache
            prompt = cache.count
        } else {
            cache = model.makeCache(capacity: ids.count)
            prompt = mode == .prefill ? ids.count : min(promptTokens, ids.count)
            try model.forward(Array(ids[0..<prompt]), cache: &cache, seam: seam, sequence: sequence, chunk: logitsChunk) { t, logits in
                if t < ids.count - 1 { r.add(logits: logits, next: ids[t + 1]) }
            }
        }
        if prompt < ids.count {
            for t in prompt..<(ids.count - 1) {
                let l = try model.forward([ids[t]], cache: &cache, seam: seam, sequence: sequence, logitsFor: true)
                r.add(logits: l[...], next: ids[t + 1])
            }
        }
        return r
    }

    /// The KV cache after the first `promptTokens` ids under exact float attention (room for the rest).
    public static func floatPrompt(_ model: LlamaModel, _ ids: [Int], promptTokens: Int, sequence: Int) throws(AttnError) -> LlamaModel.KVCache {
        var cache = model.makeCache(capacity: ids.count)
        _ = try model.forward(Array(ids[0..<min(promptTokens, ids.count)]), cache: &cache, seam: FastExactAttention(),
                              sequence: sequence, logitsFor: true)
        return cache
    }
}
