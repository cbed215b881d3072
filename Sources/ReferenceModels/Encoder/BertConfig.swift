import AttnCore
import Foundation

/// The BERT hyper-parameters of an HF `config.json` (all-MiniLM-L6-v2: 384 hidden, 12 heads of 32,
/// 6 layers, 1536 intermediate, eps 1e-12, 512 positions, 2 token types, 30522 tokens).
public struct BertConfig: Sendable, Equatable {
    public let hiddenSize: Int
    public let numAttentionHeads: Int
    public let numHiddenLayers: Int
    public let intermediateSize: Int
    public let layerNormEps: Float
    public let maxPositionEmbeddings: Int
    public let typeVocabSize: Int
    public let vocabSize: Int

    /// hiddenSize / numAttentionHeads.
    public var headDim: Int { hiddenSize / numAttentionHeads }

    public init(hiddenSize: Int, numAttentionHeads: Int, numHiddenLayers: Int, intermediateSize: Int,
                layerNormEps: Float, maxPositionEmbeddings: Int, typeVocabSize: Int, vocabSize: Int) {
        self.hiddenSize = hiddenSize
        self.numAttentionHeads = numAttentionHeads
        self.numHiddenLayers = numHiddenLayers
        self.intermediateSize = intermediateSize
        self.layerNormEps = layerNormEps
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.vocabSize = vocabSize
    }

    /// Reads `config.json`. Required keys: hidden_size, num_attention_heads, num_hidden_layers,
    /// intermediate_size, layer_norm_eps, max_position_embeddings, type_vocab_size, vocab_size.
    /// `hidden_act` must be "gelu" (exact erf) and `position_embedding_type`, when present, "absolute".
    public init(path: String) throws(AttnError) {
        let obj = try WordPieceTokenizer.readJSONObject(path)
        func fail(_ key: String, _ message: String) -> AttnError { .input(file: path, item: key, message: message) }
        func int(_ key: String) throws(AttnError) -> Int {
            guard let v = obj[key] else { throw fail(key, "missing key (expected a positive integer)") }
            guard let n = v as? Int, n > 0 else { throw fail(key, "expected a positive integer, found \(v)") }
            return n
        }
        let hidden = try int("hidden_size")
        let heads = try int("num_attention_heads")
        guard hidden % heads == 0 else {
            throw fail("num_attention_heads", "hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)")
        }
        guard let epsAny = obj["layer_norm_eps"] else { throw fail("layer_norm_eps", "missing key (expected a positive number)") }
        guard let eps = (epsAny as? NSNumber)?.doubleValue, eps > 0 else {
            throw fail("layer_norm_eps", "expected a positive number, found \(epsAny)")
        }
        if let act = obj["hidden_act"] {
            guard act as? String == "gelu" else {
                throw fail("hidden_act", "unsupported activation \(act); only \"gelu\" (exact erf) is implemented")
            }
        }
        if let pe = obj["position_embedding_type"], pe as? String != "absolute" {
            throw fail("position_embedding_type", "unsupported \(pe); only \"absolute\" is implemented")
        }
        self.init(hiddenSize: hidden, numAttentionHeads: heads, numHiddenLayers: try int("num_hidden_layers"),
                  intermediateSize: try int("intermediate_size"), layerNormEps: Float(eps),
                  maxPositionEmbeddings: try int("max_position_embeddings"), typeVocabSize: try int("type_vocab_size"),
                  vocabSize: try int("vocab_size"))
    }
}
