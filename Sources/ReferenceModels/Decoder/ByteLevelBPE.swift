import AttnCore

/// Byte-level BPE (GPT-2 style) built from a GGUF file's `tokenizer.ggml.tokens` and
/// `tokenizer.ggml.merges`, with the pre-tokenizer of the model family:
/// - SmolLM2 (`tokenizer.ggml.pre` = `smollm`): every numeric character (Unicode Nd, Nl, No — Rust's
///   `char::is_numeric`, as Hugging Face's `Digits(individual_digits: true)` uses) is its own piece,
///   then GPT-2's split;
/// - otherwise GPT-2's split alone.
/// GPT-2's split is the regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// implemented by hand over Unicode scalars (no regex engine). Each piece's UTF-8 bytes are mapped
/// to GPT-2's printable byte alphabet and merged pair by pair in merge-rank order.
public final class ByteLevelBPE: @unchecked Sendable {
    public let tokens: [String]
    let vocab: [String: Int]
    let ranks: [String: Int]
    let splitDigits: Bool
    let byteToChar: [Character]
    var charToByte: [Character: UInt8] = [:]
    private var cache: [String: [Int]] = [:]

    public init(gguf f: GGUFFile) throws(AttnError) {
        guard let toks = f.metadata["tokenizer.ggml.tokens"]?.array?.compactMap({ $0.string }), !toks.isEmpty else {
            throw AttnError.input(file: f.path, item: "tokenizer.ggml.tokens", message: "missing or not a list of strings")
        }
        guard let merges = f.metadata["tokenizer.ggml.merges"]?.array?.compactMap({ $0.string }) else {
            throw AttnError.input(file: f.path, item: "tokenizer.ggml.merges", message: "missing (a byte-level BPE vocabulary needs its merges)")
        }
        let model = f.metadata["tokenizer.ggml.model"]?.string ?? "gpt2"
        guard model == "gpt2" else {
            throw AttnError.input(file: f.path, item: "tokenizer.ggml.model", message: "'\(model)' is not supported (expected gpt2, byte-level BPE)")
        }
        tokens = toks
        var vocab: [String: Int] = [:]
        for (i, t) in toks.enumerated() where vocab[t] == nil { vocab[t] = i }
        self.vocab = vocab
        var ranks: [String: Int] = [:]
        for (i, m) in merges.enumerated() where ranks[m] == nil { ranks[m] = i }
        self.ranks = ranks
        splitDigits = (f.metadata["tokenizer.ggml.pre"]?.string ?? "") == "smollm"
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 + n.
        var table = [Character](repeating: " ", count: 256)
        var n = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable { table[b] = Character(Unicode.Scalar(UInt32(b))!) } else {
                table[b] = Character(Unicode.Scalar(UInt32(256 + n))!)
                n += 1
            }
        }
        byteToChar = table
        for (b, c) in table.enumerated() { charToByte[c] = UInt8(b) }
    }

    static func isLetter(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }

    /// GPT-2's pre-tokenization of `s` (after the digit split).
    static func gpt2Split(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        var i = 0
        let n = s.count
        func run(from j: Int, _ pred: (Unicode.Scalar) -> Bool) -> Int {
            var k = j
            while k < n && pred(s[k]) { k += 1 }
            return k
        }
        while i < n {
            let c = s[i]
            // Contractions.
            if c == "'" && i + 1 < n {
                let rest = s[(i + 1)...].prefix(2).map(Character.init)
                let two = String(rest), one = rest.first.map(String.init) ?? ""
                if two == "re" || two == "ve" || two == "ll" { out.append(Array(s[i..<(i + 3)])); i += 3; continue }
                if one == "s" || one == "t" || one == "m" || one == "d" { out.append(Array(s[i..<(i + 2)])); i += 2; continue }
            }
            let start = i
            let afterSpace = c == " " && i + 1 < n ? i + 1 : i
            if c == " " && i + 1 < n {
                let d = s[i + 1]
                if isLetter(d) { let e = run(from: i + 1, isLetter); out.append(Array(s[start..<e])); i = e; continue }
                if isNumber(d) { let e = run(from: i + 1, isNumber); out.append(Array(s[start..<e])); i = e; continue }
                if !isSpace(d) {
                    let e = run(from: i + 1) { !isSpace($0) && !isLetter($0) && !isNumber($0) }
                    out.append(Array(s[start..<e])); i = e; continue
                }
            }
            _ = afterSpace
            if isLetter(c) { let e = run(from: i, isLetter); out.append(Array(s[i..<e])); i = e; continue }
            if isNumber(c) { let e = run(from: i, isNumber); out.append(Array(s[i..<e])); i = e; continue }
            if !isSpace(c) {
                let e = run(from: i) { !isSpace($0) && !isLetter($0) && !isNumber($0) }
                out.append(Array(s[i..<e])); i = e; continue
            }
            // Whitespace: \s+(?!\S) — the run minus its last char when a non-space follows — else \s+.
            let e = run(from: i, isSpace)
            if e < n && e - i > 1 {
                out.append(Array(s[i..<(e - 1)])); i = e - 1
            } else {
                out.append(Array(s[i..<e])); i = e
            }
        }
        return out
    }

    /// Token ids of `text` (no special tokens added).
    public func encode(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [[Unicode.Scalar]] = []
        if splitDigits {
            var i = 0
            while i < scalars.count {
                if Self.isNumber(scalars[i]) {
                    pieces.append([scalars[i]]); i += 1
                } else {
                    var j = i
                    while j < scalars.count && !Self.isNumber(scalars[j]) { j += 1 }
                    pieces += Self.gpt2Split(Array(scalars[i..<j]))
                    i = j
                }
            }
        } else {
            pieces = Self.gpt2Split(scalars)
        }
        var ids: [Int] = []
        for p in pieces { ids += bpe(String(String.UnicodeScalarView(p))) }
        return ids
    }

    func bpe(_ piece: String) -> [Int] {
        if let c = cache[piece] { return c }
        var symbols = Array(piece.utf8).map { String(byteToChar[Int($0)]) }
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = ranks[symbols[i] + " " + symbols[i + 1]], r < best { best = r; at = i }
            }
            if at < 0 { break }
            let a = symbols[at], b = symbols[at + 1]
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i < symbols.count - 1 && symbols[i] == a && symbols[i + 1] == b {
                    merged.append(a + b); i += 2
                } else {
                    merged.append(symbols[i]); i += 1
                }
            }
            symbols = merged
        }
        var ids: [Int] = []
        for s in symbols {
            if let id = vocab[s] { ids.append(id) } else {
                // Unknown symbol: fall back to its bytes (every byte is in a byte-level vocabulary).
                for ch in s { if let id = vocab[String(ch)] { ids.append(id) } }
            }
        }
        cache[piece] = ids
        return ids
    }

    /// Text of token ids (byte-level decoding).
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            for ch in tokens[id] { if let b = charToByte[ch] { bytes.append(b) } }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
