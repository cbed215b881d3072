// libFuzzer target: the WordPiece tokenizer (BERT basic tokenization) and the byte-level BPE
// pre-tokenizer and merges, on arbitrary UTF-8 text. Small vocabularies are built in-process so the
// target needs no model files.
import Foundation

let fuzzWordPiece: WordPieceTokenizer? = try? WordPieceTokenizer(
    vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "a", "##s", "##ing", "cat", "run", ",", ".", "!", "é", "日"],
    maxLength: 64, source: "fuzz")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let wp = fuzzWordPiece {
        let ids = wp.encode(text)
        precondition(ids.count <= 64 && ids.first == wp.clsID && ids.last == wp.sepID)
    }
    let pieces = ByteLevelBPE.gpt2Split(Array(text.unicodeScalars))
    // The pre-tokenizer must partition the text exactly.
    precondition(pieces.flatMap { $0 } == Array(text.unicodeScalars))
    return 0
}
