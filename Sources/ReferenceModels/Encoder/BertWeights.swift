import AttnCore
import Foundation

/// One post-LayerNorm transformer block's parameters, Float, PyTorch layouts ([out, in] matrices).
public struct BertLayerWeights: Sendable {
    /// Query, key and value projections stacked: [3·hidden, hidden] and [3·hidden].
    public var qkvWeight: [Float]
    public var qkvBias: [Float]
    public var attentionOutWeight: [Float]   // [hidden, hidden]
    public var attentionOutBias: [Float]
    public var attentionNormGamma: [Float]
    public var attentionNormBeta: [Float]
    public var intermediateWeight: [Float]   // [intermediate, hidden]
    public var intermediateBias: [Float]
    public var outputWeight: [Float]         // [hidden, intermediate]
    public var outputBias: [Float]
    public var outputNormGamma: [Float]
    public var outputNormBeta: [Float]
}

/// BERT parameters from an HF `model.safetensors`. Tensor names are accepted with or without the
/// `bert.` prefix (all-MiniLM-L6-v2 has none); the pooler and MLM heads are ignored.
public struct BertWeights: Sendable {
    public var wordEmbeddings: [Float]       // [vocab, hidden]
    public var positionEmbeddings: [Float]   // [maxPositions, hidden]
    public var tokenTypeEmbeddings: [Float]  // [typeVocab, hidden]
    public var embeddingNormGamma: [Float]
    public var embeddingNormBeta: [Float]
    public var layers: [BertLayerWeights]

    /// Loads and shape-checks every tensor `config` implies. Errors name the file, the tensor and the
    /// expected shape.
    public init(file: SafetensorsFile, config c: BertConfig) throws(AttnError) {
        let prefix: String
        if file.contains("embeddings.word_embeddings.weight") {
            prefix = ""
        } else if file.contains("bert.embeddings.word_embeddings.weight") {
            prefix = "bert."
        } else {
            throw AttnError.input(file: file.path, item: "embeddings.word_embeddings.weight",
                                  message: "tensor not found (also tried \"bert.\" prefix); expected [\(c.vocabSize), \(c.hiddenSize)] — not a BERT checkpoint?")
        }
        func load(_ name: String, _ shape: [Int]) throws(AttnError) -> [Float] {
            let full = prefix + name
            guard file.contains(full) else {
                throw AttnError.input(file: file.path, item: full, message: "tensor not found; expected shape \(shape)")
            }
            let info = try file.info(full)
            guard info.shape == shape else {
                throw AttnError.input(file: file.path, item: full, message: "shape \(info.shape), expected \(shape) from config.json")
            }
            return try file.floats(full)
        }
        let h = c.hiddenSize, i = c.intermediateSize
        wordEmbeddings = try load("embeddings.word_embeddings.weight", [c.vocabSize, h])
        positionEmbeddings = try load("embeddings.position_embeddings.weight", [c.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try load("embeddings.token_type_embeddings.weight", [c.typeVocabSize, h])
        embeddingNormGamma = try load("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = try load("embeddings.LayerNorm.bias", [h])
        var layers: [BertLayerWeights] = []
        for l in 0..<c.numHiddenLayers {
            let p = "encoder.layer.\(l)."
            let qkvW = try load(p + "attention.self.query.weight", [h, h]) + load(p + "attention.self.key.weight", [h, h])
                + load(p + "attention.self.value.weight", [h, h])
            let qkvB = try load(p + "attention.self.query.bias", [h]) + load(p + "attention.self.key.bias", [h])
                + load(p + "attention.self.value.bias", [h])
            layers.append(BertLayerWeights(
                qkvWeight: qkvW, qkvBias: qkvB,
                attentionOutWeight: try load(p + "attention.output.dense.weight", [h, h]),
                attentionOutBias: try load(p + "attention.output.dense.bias", [h]),
                attentionNormGamma: try load(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBeta: try load(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try load(p + "intermediate.dense.weight", [i, h]),
                intermediateBias: try load(p + "intermediate.dense.bias", [i]),
                outputWeight: try load(p + "output.dense.weight", [h, i]),
                outputBias: try load(p + "output.dense.bias", [h]),
                outputNormGamma: try load(p + "output.LayerNorm.weight", [h]),
                outputNormBeta: try load(p + "output.LayerNorm.bias", [h])))
        }
        self.layers = layers
    }
}
