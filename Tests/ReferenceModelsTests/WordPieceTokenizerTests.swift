import AttnCore
import Foundation
import Testing
@testable import ReferenceModels

@Suite("WordPiece tokenizer")
struct WordPieceTokenizerTests {
    static func minilm() throws -> WordPieceTokenizer { try WordPieceTokenizer(directory: try EncoderFixtures.minilmDirectory) }

    /// Every movie-review sentence (10,605) tokenizes exactly as HF `tokenizers` with the model's
    /// tokenizer.json (Scripts/encoder_golden.py → movie_review_ids.txt).
    @Test func fullMovieReviewFileMatchesHFTokenizers() throws {
        let tok = try Self.minilm()
        let textPath = try EncoderFixtures.asset("text/movieReviewSnippets_GroundTruth.txt")
        let text = try String(contentsOfFile: textPath, encoding: .utf8)
        // Split on scalars: Swift's Character "\r\n" is one grapheme and would not match "\n".
        let sentences = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let l = line.last == "\r" ? line.dropLast() : line[...]
            let fields = l.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            return fields.count == 3 ? String(String.UnicodeScalarView(fields[2])) : ""
        }
        let expected = try String(contentsOfFile: EncoderFixtures.fixture("movie_review_ids.txt"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: " ").map { Int32($0)! } }
        #expect(sentences.count == 10_605)
        #expect(expected.count == sentences.count)
        var mismatches = 0
        for (i, s) in sentences.enumerated() where i < expected.count {
            let got = tok.encode(s)
            if got != expected[i] {
                mismatches += 1
                if mismatches <= 5 { Issue.record("line \(i + 1): \(s)\n got      \(got)\n expected \(expected[i])") }
            }
        }
        #expect(mismatches == 0)
    }

    struct Case: Decodable { let text: String; let ids: [Int32] }

    /// Hand-written edge cases (accents, CJK, control/format chars, Unicode punctuation, literal special
    /// tokens, over-long words, empty input) against HF `tokenizers`.
    @Test func edgeCasesMatchHFTokenizers() throws {
        let tok = try Self.minilm()
        let data = try Data(contentsOf: URL(fileURLWithPath: EncoderFixtures.fixture("tokenizer_cases.json")))
        let cases = try JSONDecoder().decode([Case].self, from: data)
        #expect(cases.count >= 15)
        for c in cases {
            #expect(tok.encode(c.text) == c.ids, "\(c.text.debugDescription)")
        }
    }

    @Test func truncationKeepsClsAndSep() throws {
        let tok = try Self.minilm()
        let text = String(repeating: "hello world ", count: 300)
        let full = tok.encode(text, maxLength: 10_000)
        #expect(full.count == 602)
        let cut = tok.encode(text)
        #expect(cut.count == 512)
        #expect(cut.first == tok.clsID && cut.last == tok.sepID)
        #expect(Array(cut[0..<511]) == Array(full[0..<511]))
        let short = tok.encode(text, maxLength: 5)
        #expect(short == [tok.clsID, full[1], full[2], full[3], tok.sepID])
        #expect(tok.encode(text, addSpecialTokens: false, maxLength: 3) == Array(full[1...3]))
    }

    @Test func plainVocabularyWithDefaults() throws {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "cafe", ",", "!"]
        let tok = try WordPieceTokenizer(vocabulary: vocab)
        #expect(tok.tokenize("UnAffable, CAFÉ!") == ["un", "##aff", "##able", ",", "cafe", "!"])
        #expect(tok.encode("unaffablex") == [2, 1, 3])  // no piece for "x" → whole word [UNK]
        #expect(tok.encode("[MASK]un") == [2, 4, 5, 3])
        let cased = try WordPieceTokenizer(vocabulary: vocab, normalizer: BertNormalizerOptions(lowercase: false))
        #expect(cased.tokenize("cafe Cafe café") == ["cafe", "[UNK]", "[UNK]"])  // no lowercasing, no accent stripping
    }

    @Test func missingFilesAndTokensAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: AttnError.self) { try WordPieceTokenizer(directory: dir.path) }
        do {
            _ = try WordPieceTokenizer(directory: dir.path)
        } catch {
            #expect(error.description.contains("vocab.txt"))
        }
        try "[PAD]\n[CLS]\n[SEP]\nhello\n".write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        do {
            _ = try WordPieceTokenizer(directory: dir.path)
            Issue.record("expected an error for a vocabulary without [UNK]")
        } catch {
            #expect(error.description.contains("[UNK]"))
            #expect(error.description.contains("vocab.txt"))
        }
    }
}
