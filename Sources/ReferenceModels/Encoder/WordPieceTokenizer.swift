import AttnCore
import Foundation

/// BERT text normalization switches, as in HF `tokenizers`' `BertNormalizer` (the `normalizer` object
/// of a `tokenizer.json`). Defaults are BERT *uncased*: clean text, split CJK ideographs, lowercase,
/// and strip accents because `stripAccents == nil` follows `lowercase`.
public struct BertNormalizerOptions: Sendable, Equatable {
    /// Drop U+0000, U+FFFD and control/format/private-use/unassigned scalars (except \t \n \r);
    /// map every White_Space scalar to U+0020.
    public var cleanText: Bool = true
    /// Put spaces around CJK ideographs so each becomes its own word.
    public var handleChineseChars: Bool = true
    /// NFD-decompose and drop nonspacing marks (Mn); `nil` means "same as `lowercase`".
    public var stripAccents: Bool? = nil
    /// Per-scalar full Unicode lowercase mapping.
    public var lowercase: Bool = true

    public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil,
                lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }
}

/// BERT's tokenizer: `BertNormalizer` → `BertPreTokenizer` → greedy longest-match-first WordPiece,
/// then `[CLS] … [SEP]`, with the semantics of HF `tokenizers` (the Rust library that reads a model's
/// `tokenizer.json`):
///
/// 1. Special tokens written literally in the text (`[CLS]`, `[MASK]`, … — the non-normalized
///    `added_tokens`) are matched first, leftmost-longest, on the raw text and map to their ids.
/// 2. Normalize each remaining segment (see `BertNormalizerOptions`), in the order clean text, CJK
///    spacing, accent stripping (NFD, drop Mn), lowercasing.
/// 3. Split on White_Space (removed) and isolate every punctuation scalar: ASCII `!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`
///    or Unicode general category P* (Pc Pd Ps Pe Pi Pf Po).
/// 4. WordPiece per word: words of more than `maxInputCharsPerWord` scalars become `[UNK]`; otherwise
///    repeatedly take the longest vocabulary entry that prefixes the rest (`##`-prefixed after the
///    first piece); if some rest has no such prefix the whole word becomes `[UNK]`.
///
/// Characters are Unicode scalars (Rust `char`), not grapheme clusters. Known divergence: category
/// tests use the Swift runtime's Unicode version, HF uses its `unicode_categories` crate's; they differ
/// only for scalars assigned in between (none occur in the project's texts).
public struct WordPieceTokenizer: Sendable {
    /// Token string → id.
    public let vocabulary: [String: Int32]
    /// Id → token string.
    public let tokens: [String]
    public let normalizer: BertNormalizerOptions
    public let continuingSubwordPrefix: String
    /// Words longer than this (in scalars) become `[UNK]` (HF default 100).
    public let maxInputCharsPerWord: Int
    public let unknownID: Int32
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    /// Total length limit of `encode` including `[CLS]`/`[SEP]` (the model's 512 positions by default).
    public var maxLength: Int
    /// Literal special tokens matched on raw text, longest first, with their ids.
    private let specials: [(scalars: [Unicode.Scalar], id: Int32)]

    /// Builds a tokenizer from a vocabulary (line i = token of id i) and options.
    /// `specialTokens` are the strings matched literally in raw text (default: the BERT five that
    /// exist in the vocabulary).
    public init(vocabulary tokens: [String], normalizer: BertNormalizerOptions = BertNormalizerOptions(),
                unknownToken: String = "[UNK]", clsToken: String = "[CLS]", sepToken: String = "[SEP]",
                padToken: String = "[PAD]", specialTokens: [String]? = nil, continuingSubwordPrefix: String = "##",
                maxInputCharsPerWord: Int = 100, maxLength: Int = 512, source: String = "vocabulary") throws(AttnError) {
        var vocab = [String: Int32](minimumCapacity: tokens.count)
        for (i, t) in tokens.enumerated() where vocab[t] == nil { vocab[t] = Int32(i) }
        func id(_ t: String) throws(AttnError) -> Int32 {
            guard let v = vocab[t] else {
                throw AttnError.input(file: source, item: t, message: "special token missing from the vocabulary of \(tokens.count) tokens")
            }
            return v
        }
        guard maxLength >= 2 else {
            throw AttnError.input(file: source, item: "maxLength", message: "must be at least 2 (room for [CLS] and [SEP]), got \(maxLength)")
        }
        self.vocabulary = vocab
        self.tokens = tokens
        self.normalizer = normalizer
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.unknownID = try id(unknownToken)
        self.clsID = try id(clsToken)
        self.sepID = try id(sepToken)
        self.padID = try id(padToken)
        self.maxLength = maxLength
        let names = specialTokens ?? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].filter { vocab[$0] != nil }
        var sp: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for n in names where !n.isEmpty { sp.append((Array(n.unicodeScalars), try id(n))) }
        self.specials = sp.sorted { $0.scalars.count > $1.scalars.count }
    }

    /// Loads `vocab.txt` from an HF model directory, with the normalizer, special tokens and WordPiece
    /// settings of `tokenizer.json` when present, else `tokenizer_config.json` (`do_lower_case`,
    /// `strip_accents`, `tokenize_chinese_chars`), else BERT-uncased defaults. A directory with only a
    /// `tokenizer.json` uses its `model.vocab`. `tokenizer.json`'s truncation/padding are ignored:
    /// `encode` truncates at `maxLength` and never pads.
    public init(directory: String, maxLength: Int = 512) throws(AttnError) {
        let dir = URL(fileURLWithPath: directory)
        let vocabPath = dir.appendingPathComponent("vocab.txt").path
        let tjPath = dir.appendingPathComponent("tokenizer.json").path
        let tcPath = dir.appendingPathComponent("tokenizer_config.json").path
        let fm = FileManager.default
        var tokens: [String]? = nil
        if fm.fileExists(atPath: vocabPath) { tokens = try Self.readVocab(vocabPath) }
        if fm.fileExists(atPath: tjPath) {
            let s = try TokenizerJSONSettings(path: tjPath)
            guard let t = tokens ?? s.vocab else {
                throw AttnError.input(file: tjPath, item: "model.vocab", message: "no vocab.txt next to it and no model.vocab inside")
            }
            try self.init(vocabulary: t, normalizer: s.normalizer, unknownToken: s.unknownToken,
                          clsToken: s.clsToken, sepToken: s.sepToken, padToken: s.padToken ?? "[PAD]",
                          specialTokens: s.specialTokens, continuingSubwordPrefix: s.prefix,
                          maxInputCharsPerWord: s.maxInputCharsPerWord, maxLength: maxLength,
                          source: tokens == nil ? tjPath : vocabPath)
            return
        }
        guard let tokens else {
            throw AttnError.input(file: vocabPath, item: nil, message: "missing vocabulary: expected vocab.txt (one token per line) or tokenizer.json in \(directory)")
        }
        var opts = BertNormalizerOptions()
        if fm.fileExists(atPath: tcPath) {
            let obj = try Self.readJSONObject(tcPath)
            if let v = obj["do_lower_case"] as? Bool { opts.lowercase = v }
            if let v = obj["tokenize_chinese_chars"] as? Bool { opts.handleChineseChars = v }
            if let v = obj["strip_accents"] as? Bool { opts.stripAccents = v }
        }
        try self.init(vocabulary: tokens, normalizer: opts, maxLength: maxLength, source: vocabPath)
    }

    /// Reads a BERT `vocab.txt`: one token per line (id = line number), LF or CRLF.
    public static func readVocab(_ path: String) throws(AttnError) -> [String] {
        let data = try InputFile.read(path, kind: "a vocabulary file")
        guard let text = String(data: data, encoding: .utf8) else {
            throw AttnError.input(file: path, item: nil, message: "vocabulary is not valid UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw AttnError.input(file: path, item: nil, message: "vocabulary is empty") }
        return lines
    }

    static func readJSONObject(_ path: String) throws(AttnError) -> [String: Any] {
        let data = try InputFile.read(path, kind: "a JSON file")
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: data) } catch {
            throw AttnError.input(file: path, item: nil, message: "not valid JSON")
        }
        guard let dict = obj as? [String: Any] else {
            throw AttnError.input(file: path, item: nil, message: "expected a JSON object at the top level")
        }
        return dict
    }

    // MARK: - Encoding

    /// Token ids of `text`: `[CLS] pieces… [SEP]` (or only the pieces), pieces truncated so the total
    /// fits `maxLength` (default `self.maxLength`). Never pads.
    public func encode(_ text: String, addSpecialTokens: Bool = true, maxLength: Int? = nil) -> [Int32] {
        var ids = pieceIDs(text)
        let limit = maxLength ?? self.maxLength
        if addSpecialTokens {
            let keep = max(0, limit - 2)
            if ids.count > keep { ids.removeSubrange(keep...) }
            return [clsID] + ids + [sepID]
        }
        if ids.count > limit { ids.removeSubrange(limit...) }
        return ids
    }

    /// The WordPiece strings of `text`, without `[CLS]`/`[SEP]` and without truncation.
    public func tokenize(_ text: String) -> [String] { pieceIDs(text).map { tokens[Int($0)] } }

    /// Ids of all pieces (no special tokens added, no truncation).
    public func pieceIDs(_ text: String) -> [Int32] {
        var out: [Int32] = []
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var i = 0
        while i < scalars.count {
            if let (length, id) = special(at: i, in: scalars) {
                appendPieces(of: scalars[segmentStart..<i], to: &out)
                out.append(id)
                i += length
                segmentStart = i
            } else {
                i += 1
            }
        }
        appendPieces(of: scalars[segmentStart..<scalars.count], to: &out)
        return out
    }

    private func special(at i: Int, in s: [Unicode.Scalar]) -> (Int, Int32)? {
        for sp in specials where i + sp.scalars.count <= s.count {
            var match = true
            for (k, c) in sp.scalars.enumerated() where s[i + k] != c { match = false; break }
            if match { return (sp.scalars.count, sp.id) }
        }
        return nil
    }

    private func appendPieces(of segment: ArraySlice<Unicode.Scalar>, to out: inout [Int32]) {
        if segment.isEmpty { return }
        for word in Self.preTokenize(normalize(segment)) { appendWordPieces(word, to: &out) }
    }

    /// `BertNormalizer` on a run of scalars.
    public func normalize<S: Sequence<Unicode.Scalar>>(_ input: S) -> [Unicode.Scalar] {
        var s: [Unicode.Scalar] = []
        for c in input {
            if normalizer.cleanText {
                if c.value == 0 || c.value == 0xFFFD || Self.isControl(c) { continue }
                if Self.isBertWhitespace(c) { s.append(" "); continue }
            }
            if normalizer.handleChineseChars && Self.isChineseChar(c) {
                s.append(" "); s.append(c); s.append(" ")
            } else {
                s.append(c)
            }
        }
        if normalizer.stripAccents ?? normalizer.lowercase {
            var str = String.UnicodeScalarView()
            str.append(contentsOf: s)
            let nfd = String(str).decomposedStringWithCanonicalMapping
            s = nfd.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if normalizer.lowercase {
            var lower: [Unicode.Scalar] = []
            lower.reserveCapacity(s.count)
            for c in s {
                if c.isASCII {
                    lower.append(c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c)
                } else {
                    lower.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
                }
            }
            s = lower
        }
        return s
    }

    /// `BertPreTokenizer`: split on White_Space (dropped) and isolate punctuation.
    public static func preTokenize(_ s: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for (i, c) in s.enumerated() {
            if c.properties.isWhitespace {
                if start < i { words.append(s[start..<i]) }
                start = i + 1
            } else if isBertPunctuation(c) {
                if start < i { words.append(s[start..<i]) }
                words.append(s[i...i])
                start = i + 1
            }
        }
        if start < s.count { words.append(s[start..<s.count]) }
        return words
    }

    private func appendWordPieces(_ word: ArraySlice<Unicode.Scalar>, to out: inout [Int32]) {
        guard word.count <= maxInputCharsPerWord else { out.append(unknownID); return }
        let chars = Array(word)
        var pieces: [Int32] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: Int32? = nil
            while start < end {
                var view = String.UnicodeScalarView()
                if start > 0 { view.append(contentsOf: continuingSubwordPrefix.unicodeScalars) }
                view.append(contentsOf: chars[start..<end])
                if let id = vocabulary[String(view)] { found = id; break }
                end -= 1
            }
            guard let id = found else { out.append(unknownID); return }
            pieces.append(id)
            start = end
        }
        out.append(contentsOf: pieces)
    }

    // MARK: - Character classes (HF tokenizers' bert normalizer / pre-tokenizer)

    /// \t \n \r, or the White_Space property.
    @inlinable public static func isBertWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
    }

    /// Categories Cc Cf Co Cn Cs, except \t \n \r (which count as whitespace).
    @inlinable public static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .privateUse, .unassigned, .surrogate: return true
        default: return false
        }
    }

    /// ASCII punctuation (33–47, 58–64, 91–96, 123–126) or general category P*.
    @inlinable public static func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// The CJK ideograph blocks of HF tokenizers' BertNormalizer (note 0x2B920, not 0x2B820, as there).
    @inlinable public static func isChineseChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}

/// What the tokenizer needs from an HF `tokenizer.json`.
struct TokenizerJSONSettings {
    var normalizer = BertNormalizerOptions()
    var vocab: [String]? = nil
    var unknownToken = "[UNK]"
    var prefix = "##"
    var maxInputCharsPerWord = 100
    var clsToken = "[CLS]"
    var sepToken = "[SEP]"
    var padToken: String? = nil
    var specialTokens: [String] = []

    init(path: String) throws(AttnError) {
        let obj = try WordPieceTokenizer.readJSONObject(path)
        func fail(_ item: String, _ message: String) -> AttnError { .input(file: path, item: item, message: message) }
        if let n = obj["normalizer"] as? [String: Any] {
            guard n["type"] as? String == "BertNormalizer" else {
                throw fail("normalizer.type", "expected \"BertNormalizer\", found \(n["type"].map { "\($0)" } ?? "none")")
            }
            if let v = n["clean_text"] as? Bool { normalizer.cleanText = v }
            if let v = n["handle_chinese_chars"] as? Bool { normalizer.handleChineseChars = v }
            if let v = n["strip_accents"] as? Bool { normalizer.stripAccents = v }
            if let v = n["lowercase"] as? Bool { normalizer.lowercase = v }
        }
        if let p = obj["pre_tokenizer"] as? [String: Any], let t = p["type"] as? String, t != "BertPreTokenizer" {
            throw fail("pre_tokenizer.type", "expected \"BertPreTokenizer\", found \"\(t)\"")
        }
        guard let model = obj["model"] as? [String: Any] else { throw fail("model", "missing") }
        guard model["type"] as? String == "WordPiece" else {
            throw fail("model.type", "expected \"WordPiece\", found \(model["type"].map { "\($0)" } ?? "none")")
        }
        if let v = model["unk_token"] as? String { unknownToken = v }
        if let v = model["continuing_subword_prefix"] as? String { prefix = v }
        if let v = model["max_input_chars_per_word"] as? Int { maxInputCharsPerWord = v }
        if let v = model["vocab"] as? [String: Any] {
            var list = [String](repeating: "", count: v.count)
            for (token, idAny) in v {
                guard let id = idAny as? Int, id >= 0, id < v.count else {
                    throw fail("model.vocab.\(token)", "expected an id in 0..<\(v.count)")
                }
                list[id] = token
            }
            vocab = list
        }
        for t in (obj["added_tokens"] as? [[String: Any]]) ?? [] {
            guard let content = t["content"] as? String else { continue }
            if t["normalized"] as? Bool == false { specialTokens.append(content) }
            if content == "[PAD]" { padToken = content }
        }
        if let pp = obj["post_processor"] as? [String: Any], let st = pp["special_tokens"] as? [String: Any] {
            if st["[CLS]"] == nil || st["[SEP]"] == nil {
                throw fail("post_processor.special_tokens", "expected [CLS] and [SEP] (BERT template)")
            }
        }
        if let pad = obj["padding"] as? [String: Any], let p = pad["pad_token"] as? String { padToken = p }
    }
}
