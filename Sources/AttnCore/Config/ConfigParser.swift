/// The parser of AttnSim's YAML subset (see docs/config-language.md for the language).
///
/// It works on UTF-8 bytes with a single cursor, recursive descent over indentation-based blocks and
/// `[...]`/`{...}` flow collections. Every loop consumes at least one byte or throws, recursion is
/// limited to `maxDepth` levels, and every failure is an `AttnError.config` at `file:line:col`
/// (column counted in Unicode scalars, 1-based), so any input either parses or fails cleanly.
public struct ConfigParser {
    /// The deepest nesting of collections accepted (keeps recursion bounded on hostile input).
    public static let maxDepth = 64

    /// Parses one document. An empty document (only blanks and comments) is a null node.
    public static func parse(_ text: String, file: String) throws(AttnError) -> ConfigNode {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses one document from raw bytes (validated as UTF-8 first).
    public static func parse(bytes raw: [UInt8], file: String) throws(AttnError) -> ConfigNode {
        var p = ConfigParser(bytes: try normalize(raw, file: file), file: file)
        return try p.parseDocument()
    }

    // MARK: - State

    private let b: [UInt8]
    private let file: String
    private var pos = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    private var colCacheLineStart = -1, colCachePos = 0, colCacheCol = 1

    private init(bytes: [UInt8], file: String) {
        self.b = bytes
        self.file = file
    }

    // ASCII codes used below.
    private static let nl = UInt8(ascii: "\n"), sp = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
    private static let hash = UInt8(ascii: "#"), colon = UInt8(ascii: ":"), dash = UInt8(ascii: "-")
    private static let comma = UInt8(ascii: ","), dq = UInt8(ascii: "\""), sq = UInt8(ascii: "'")
    private static let lbracket = UInt8(ascii: "["), rbracket = UInt8(ascii: "]")
    private static let lbrace = UInt8(ascii: "{"), rbrace = UInt8(ascii: "}")
    private static let backslash = UInt8(ascii: "\\"), dot = UInt8(ascii: ".")

    private var atEnd: Bool { pos >= b.count }
    private func byte(_ i: Int) -> UInt8? { i < b.count && i >= 0 ? b[i] : nil }
    private var cur: UInt8? { byte(pos) }

    /// Space, newline or end of input at `i` (what must follow `-`, `:` and friends in block context).
    private func isBlankOrEnd(_ i: Int) -> Bool {
        guard let c = byte(i) else { return true }
        return c == Self.sp || c == Self.nl || c == Self.tab
    }

    // MARK: - Locations and errors

    /// The location of byte `at` on the current line. Columns are counted in Unicode scalars
    /// (bytes that are not UTF-8 continuation bytes), incrementally from a per-line cache so a long
    /// line costs linear, not quadratic, time.
    private mutating func location(_ at: Int) -> ConfigLocation {
        if colCacheLineStart != lineStart || at < colCachePos {
            colCacheLineStart = lineStart
            colCachePos = lineStart
            colCacheCol = 1
        }
        var col = colCacheCol
        var i = colCachePos
        let end = min(at, b.count)
        while i < end {
            if b[i] & 0xC0 != 0x80 { col += 1 }
            i += 1
        }
        colCachePos = i
        colCacheCol = col
        return ConfigLocation(file: file, line: line, column: col)
    }

    private mutating func error(_ message: String, at: Int? = nil) -> AttnError {
        location(at ?? pos).error(message)
    }

    /// A short, printable excerpt of the text at `i` for messages.
    private func excerpt(_ i: Int) -> String {
        var j = i
        while j < b.count, b[j] != Self.nl, j - i < 20 { j += 1 }
        return String(decoding: b[min(i, b.count)..<j], as: UTF8.self)
    }

    // MARK: - Input normalization

    /// Validates UTF-8, drops a leading BOM, turns CRLF into LF and rejects other control characters.
    private static func normalize(_ raw: [UInt8], file: String) throws(AttnError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        if raw.count >= 3, raw[0] == 0xEF, raw[1] == 0xBB, raw[2] == 0xBF { i = 3 }
        var line = 1, col = 1
        while i < raw.count {
            let c = raw[i]
            if c < 0x80 {
                if c == 0x0D {
                    if i + 1 < raw.count, raw[i + 1] == nl { i += 1; continue }
                    throw AttnError.config(file: file, line: line, column: col,
                                           message: "carriage return without line feed (use LF or CRLF line endings)")
                }
                if (c < 0x20 && c != nl && c != tab) || c == 0x7F {
                    throw AttnError.config(file: file, line: line, column: col,
                                           message: "control character 0x\(String(c, radix: 16, uppercase: true)) is not allowed")
                }
                out.append(c)
                i += 1
                if c == nl { line += 1; col = 1 } else { col += 1 }
                continue
            }
            // Multi-byte sequence: validate lead byte, length, continuation bytes, ranges.
            let len: Int
            var scalar: UInt32
            switch c {
            case 0xC2...0xDF: len = 2; scalar = UInt32(c & 0x1F)
            case 0xE0...0xEF: len = 3; scalar = UInt32(c & 0x0F)
            case 0xF0...0xF4: len = 4; scalar = UInt32(c & 0x07)
            default: len = 0; scalar = 0
            }
            var ok = len > 0 && i + len <= raw.count
            if ok {
                for k in 1..<len {
                    let cc = raw[i + k]
                    if cc & 0xC0 != 0x80 { ok = false; break }
                    scalar = (scalar << 6) | UInt32(cc & 0x3F)
                }
            }
            if ok {
                let minimum: UInt32 = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000
                if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { ok = false }
            }
            if !ok {
                throw AttnError.config(file: file, line: line, column: col, message: "invalid UTF-8")
            }
            if scalar == 0xFEFF || (0x80...0x9F).contains(scalar) {
                throw AttnError.config(file: file, line: line, column: col,
                                       message: "control character U+\(String(scalar, radix: 16, uppercase: true)) is not allowed")
            }
            out.append(contentsOf: raw[i..<(i + len)])
            i += len
            col += 1
        }
        return out
    }

    // MARK: - Lines

    /// Consumes the newline at `pos` (or nothing at end of input).
    private mutating func consumeNewline() {
        if cur == Self.nl {
            pos += 1
            line += 1
            lineStart = pos
        }
    }

    /// Skips blank lines and comment-only lines from a line start. Returns the indentation of the
    /// next content line (cursor left at its line start), or nil at end of input.
    private mutating func peekContentLine() throws(AttnError) -> Int? {
        while !atEnd {
            var i = lineStart
            while byte(i) == Self.sp { i += 1 }
            let indent = i - lineStart
            guard let c = byte(i) else { pos = i; return nil }
            if c == Self.tab {
                throw error("tab character in indentation (indent with spaces)", at: i)
            }
            if c == Self.nl { pos = i; consumeNewline(); continue }
            if c == Self.hash { skipToLineEnd(from: i); consumeNewline(); continue }
            if indent == 0 {
                if (c == Self.dash || c == Self.dot), byte(i + 1) == c, byte(i + 2) == c, isBlankOrEnd(i + 3) {
                    throw error("document markers ('---', '...') are not supported: one document per file", at: i)
                }
                if c == UInt8(ascii: "%") {
                    throw error("directives ('%') are not supported", at: i)
                }
            }
            pos = lineStart
            return indent
        }
        return nil
    }

    /// Moves to the newline (or end) of the current line, for comments. Tabs in comments are fine.
    private mutating func skipToLineEnd(from i: Int) {
        var j = i
        while j < b.count, b[j] != Self.nl { j += 1 }
        pos = j
    }

    /// Skips spaces on the current line; a tab is an error.
    private mutating func skipSpaces() throws(AttnError) {
        while let c = cur {
            if c == Self.sp { pos += 1; continue }
            if c == Self.tab { throw error("tab character (use spaces; tabs are allowed only in quotes and comments)") }
            break
        }
    }

    /// After a value: only spaces and a comment may follow on this line. Consumes the newline.
    private mutating func finishLine() throws(AttnError) {
        let start = pos
        try skipSpaces()
        guard let c = cur else { return }
        if c == Self.nl { consumeNewline(); return }
        if c == Self.hash {
            if pos == start && pos > lineStart {
                throw error("a comment needs a space before '#'")
            }
            skipToLineEnd(from: pos)
            consumeNewline()
            return
        }
        throw error("unexpected text after the value: '\(excerpt(pos))'")
    }

    /// True when the rest of the line from `pos` is empty or a comment (after spaces).
    private func restOfLineIsEmpty() -> Bool {
        var i = pos
        while byte(i) == Self.sp { i += 1 }
        guard let c = byte(i) else { return true }
        return c == Self.nl || (c == Self.hash && (i > pos || i == lineStart || byte(i - 1) == Self.sp))
    }

    private func isSequenceIndicator(_ i: Int) -> Bool {
        byte(i) == Self.dash && isBlankOrEnd(i + 1)
    }

    // MARK: - Depth

    private mutating func enter(_ at: Int) throws(AttnError) {
        depth += 1
        if depth > Self.maxDepth {
            throw error("nesting deeper than \(Self.maxDepth) levels", at: at)
        }
    }

    // MARK: - Document and blocks

    private mutating func parseDocument() throws(AttnError) -> ConfigNode {
        guard let indent = try peekContentLine() else {
            return ConfigNode(.null, at: ConfigLocation(file: file, line: 1, column: 1))
        }
        let node = try parseBlockNode(indent: indent)
        if let next = try peekContentLine() {
            let at = lineStart + next
            if next > indent {
                throw error("inconsistent indentation: \(next) spaces, expected \(indent)", at: at)
            }
            throw error("unexpected content after the top-level \(node.kindDescription) at indentation \(indent): '\(excerpt(at))'", at: at)
        }
        return node
    }

    /// A block node whose first line (a content line) starts at `indent`; cursor at that line start.
    private mutating func parseBlockNode(indent: Int) throws(AttnError) -> ConfigNode {
        pos = lineStart + indent
        if isSequenceIndicator(pos) { return try parseBlockSequence(indent: indent) }
        if try scanKey(at: pos) != nil { return try parseBlockMapping(indent: indent) }
        let node = try parseInlineValue(flow: false)
        try finishLine()
        if let next = try peekContentLine(), next >= indent, !node.isSequence, !node.isMapping {
            throw error("a value cannot continue on the next line (multi-line scalars are not supported; "
                        + "write it on one line, quoted if needed)", at: lineStart + next)
        }
        return node
    }

    /// A block mapping whose keys sit at column `indent` (0-based); cursor at the first key, which may
    /// be mid-line (`- key: value`).
    private mutating func parseBlockMapping(indent: Int) throws(AttnError) -> ConfigNode {
        let startLoc = location(pos)
        try enter(pos)
        defer { depth -= 1 }
        var entries: [ConfigEntry] = []
        var seen: [String: ConfigLocation] = [:]
        while true {
            let keyPos = pos
            let keyLoc = location(keyPos)
            guard let key = try scanKey(at: keyPos) else {
                var j = keyPos
                while let d = byte(j), d != Self.nl, d != Self.colon { j += 1 }
                let hint = byte(j) == Self.colon ? " (a space is needed after ':')" : ""
                throw error("expected 'key: value' in a mapping, found '\(excerpt(keyPos))'\(hint)", at: keyPos)
            }
            if key.text.isEmpty { throw error("empty mapping key", at: keyPos) }
            if let first = seen[key.text] {
                throw error("duplicate key '\(key.text)' (first defined at line \(first.line), column \(first.column))", at: keyPos)
            }
            seen[key.text] = keyLoc
            pos = key.afterColon
            let value: ConfigNode
            if restOfLineIsEmpty() {
                let nullLoc = location(pos)
                try finishLine()
                if let next = try peekContentLine() {
                    if next > indent {
                        value = try parseBlockNode(indent: next)
                    } else if next == indent && isSequenceIndicator(lineStart + next) {
                        pos = lineStart + next
                        value = try parseBlockSequence(indent: next)
                    } else {
                        value = ConfigNode(.null, at: nullLoc)
                    }
                } else {
                    value = ConfigNode(.null, at: nullLoc)
                }
            } else {
                try skipSpaces()
                if isSequenceIndicator(pos) {
                    throw error("a block sequence cannot start on the same line as its key; put '- item' on the next line")
                }
                if try scanKey(at: pos) != nil {
                    throw error("a nested mapping cannot start on the same line as its key; put it on the next line, indented")
                }
                value = try parseInlineValue(flow: false)
                try finishLine()
            }
            entries.append(ConfigEntry(key: key.text, keyLocation: keyLoc, value: value))
            guard let next = try peekContentLine() else { break }
            if next < indent { break }
            if next > indent {
                throw error("inconsistent indentation: \(next) spaces, expected \(indent)" + continuationHint(value), at: lineStart + next)
            }
            pos = lineStart + next
            if isSequenceIndicator(pos) {
                throw error("a sequence item cannot follow a mapping entry at the same indentation", at: pos)
            }
        }
        return ConfigNode(.mapping(entries), at: startLoc)
    }

    /// A block sequence whose `-` sit at column `indent`; cursor at the first `-`.
    private mutating func parseBlockSequence(indent: Int) throws(AttnError) -> ConfigNode {
        let startLoc = location(pos)
        try enter(pos)
        defer { depth -= 1 }
        var items: [ConfigNode] = []
        while true {
            let dashLoc = location(pos)
            pos += 1 // '-'
            let item: ConfigNode
            if restOfLineIsEmpty() {
                try finishLine()
                if let next = try peekContentLine(), next > indent {
                    item = try parseBlockNode(indent: next)
                } else {
                    item = ConfigNode(.null, at: dashLoc)
                }
            } else {
                try skipSpaces()
                let column = pos - lineStart // only '-' and spaces precede: bytes == columns
                if isSequenceIndicator(pos) {
                    item = try parseBlockSequence(indent: column)
                } else if try scanKey(at: pos) != nil {
                    item = try parseBlockMapping(indent: column)
                } else {
                    item = try parseInlineValue(flow: false)
                    try finishLine()
                }
            }
            items.append(item)
            guard let next = try peekContentLine() else { break }
            if next < indent { break }
            if next > indent {
                throw error("inconsistent indentation: \(next) spaces, expected \(indent)" + continuationHint(item), at: lineStart + next)
            }
            pos = lineStart + next
            if !isSequenceIndicator(pos) { break } // e.g. `key:\n- a\nother: b`; the caller decides
        }
        return ConfigNode(.sequence(items), at: startLoc)
    }

    /// After a one-line scalar, a deeper line is most likely an attempt at a multi-line scalar.
    private func continuationHint(_ value: ConfigNode) -> String {
        if case .scalar = value.value { return " (a value cannot continue on the next line)" }
        return ""
    }

    // MARK: - Keys

    private struct Key { var text: String; var afterColon: Int }

    /// If a block mapping key (`key:` followed by a space or line end) starts at `i`, returns it;
    /// does not move the cursor.
    private mutating func scanKey(at i: Int) throws(AttnError) -> Key? {
        guard let c = byte(i) else { return nil }
        if c == Self.dq || c == Self.sq {
            let saved = pos
            defer { pos = saved }
            pos = i
            let text = c == Self.dq ? try parseDoubleQuoted() : try parseSingleQuoted()
            while cur == Self.sp { pos += 1 }
            if cur == Self.colon && isBlankOrEnd(pos + 1) { return Key(text: text, afterColon: pos + 1) }
            return nil
        }
        if !canStartPlain(i, flow: false) { return nil }
        var j = i
        while let d = byte(j), d != Self.nl {
            if d == Self.colon && isBlankOrEnd(j + 1) {
                var end = j
                while end > i, b[end - 1] == Self.sp { end -= 1 }
                if b[i..<end].contains(Self.tab) { throw error("tab character in a key", at: i) }
                return Key(text: String(decoding: b[i..<end], as: UTF8.self), afterColon: j + 1)
            }
            if d == Self.hash && j > i && (b[j - 1] == Self.sp || b[j - 1] == Self.tab) { return nil }
            j += 1
        }
        return nil
    }

    /// Whether a plain scalar may start at `i` (YAML indicators may not, except `-`, `?`, `:`
    /// directly followed by a non-space).
    private func canStartPlain(_ i: Int, flow: Bool) -> Bool {
        guard let c = byte(i) else { return false }
        switch c {
        case Self.sp, Self.tab, Self.nl, Self.hash, Self.comma, Self.lbracket, Self.rbracket, Self.lbrace, Self.rbrace,
             Self.dq, Self.sq, UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"),
             UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"):
            return false
        case Self.dash, UInt8(ascii: "?"), Self.colon:
            guard let n = byte(i + 1) else { return false }
            if n == Self.sp || n == Self.nl || n == Self.tab { return false }
            if flow && (n == Self.comma || n == Self.rbracket || n == Self.rbrace || n == Self.lbracket || n == Self.lbrace) { return false }
            return true
        default:
            return true
        }
    }

    // MARK: - Inline values (scalars and flow collections)

    /// A value that starts at the cursor and ends on this line (or, for flow collections, at the
    /// matching bracket). Rejects YAML features outside the subset with a specific message.
    private mutating func parseInlineValue(flow: Bool) throws(AttnError) -> ConfigNode {
        guard let c = cur else { throw error("expected a value, found end of input") }
        switch c {
        case Self.lbracket: return try parseFlowSequence()
        case Self.lbrace: return try parseFlowMapping()
        case Self.dq:
            let loc = location(pos)
            return ConfigNode(.scalar(try parseDoubleQuoted(), quoted: true), at: loc)
        case Self.sq:
            let loc = location(pos)
            return ConfigNode(.scalar(try parseSingleQuoted(), quoted: true), at: loc)
        case UInt8(ascii: "&"): throw error("anchors ('&') are not supported")
        case UInt8(ascii: "*"): throw error("aliases ('*') are not supported")
        case UInt8(ascii: "!"): throw error("tags ('!') are not supported")
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            throw error("block scalars ('|', '>') are not supported; use a double-quoted string with \\n escapes")
        case UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"):
            throw error("'\(Character(Unicode.Scalar(c)))' is reserved and cannot start a plain value; quote the value")
        case Self.tab: throw error("tab character (use spaces; tabs are allowed only in quotes and comments)")
        default: break
        }
        if !canStartPlain(pos, flow: flow) {
            if c == UInt8(ascii: "?") { throw error("complex mapping keys ('? ') are not supported") }
            if c == Self.colon { throw error("missing key before ':'") }
            if c == Self.dash && !flow { throw error("a block sequence cannot start here; put '- item' on its own line") }
            throw error("unexpected '\(excerpt(pos).prefix(1))'")
        }
        return try parsePlain(flow: flow)
    }

    /// A plain scalar. In block context it runs to the end of the line or a ` #` comment; in flow
    /// context it also stops at `,`, `[`, `]`, `{`, `}` and at `:` followed by a space or those.
    private mutating func parsePlain(flow: Bool) throws(AttnError) -> ConfigNode {
        let loc = location(pos)
        let text = try scanPlain(flow: flow)
        if text == "null" || text == "~" { return ConfigNode(.null, at: loc) }
        return ConfigNode(.scalar(text, quoted: false), at: loc)
    }

    /// The text of a plain scalar at the cursor (see `parsePlain`); never empty.
    private mutating func scanPlain(flow: Bool) throws(AttnError) -> String {
        let start = pos
        var end = pos
        var j = pos
        while let d = byte(j), d != Self.nl {
            if d == Self.tab { throw error("tab character (use spaces; tabs are allowed only in quotes and comments)", at: j) }
            if d == Self.hash && j > start && b[j - 1] == Self.sp { break }
            if d == Self.colon {
                let n = byte(j + 1)
                let endsKey = n == nil || n == Self.sp || n == Self.nl || n == Self.tab
                    || (flow && (n == Self.comma || n == Self.rbracket || n == Self.rbrace))
                if endsKey {
                    if flow { break }
                    throw error("unexpected ':' in a plain value (quote the value if it contains ': ')", at: j)
                }
            }
            if flow && (d == Self.comma || d == Self.lbracket || d == Self.rbracket || d == Self.lbrace || d == Self.rbrace) { break }
            j += 1
            if d != Self.sp { end = j }
        }
        pos = end
        let text = String(decoding: b[start..<end], as: UTF8.self)
        if text.isEmpty { throw error("expected a value, found '\(excerpt(start).prefix(1))'", at: start) }
        return text
    }

    /// `"..."` on one line, with escapes `\\ \" \/ \0 \a \b \t \n \v \f \r \e \  \xHH \uHHHH \UHHHHHHHH`.
    private mutating func parseDoubleQuoted() throws(AttnError) -> String {
        let open = pos
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = cur, c != Self.nl else {
                throw error("unterminated double-quoted string (quotes must close on the same line)", at: open)
            }
            if c == Self.dq { pos += 1; break }
            if c != Self.backslash { out.append(c); pos += 1; continue }
            let escPos = pos
            pos += 1
            guard let e = cur, e != Self.nl else {
                throw error("unterminated double-quoted string (quotes must close on the same line)", at: open)
            }
            pos += 1
            switch e {
            case UInt8(ascii: "\\"): out.append(Self.backslash)
            case UInt8(ascii: "\""): out.append(Self.dq)
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: " "): out.append(Self.sp)
            case UInt8(ascii: "0"): out.append(0)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "t"): out.append(Self.tab)
            case UInt8(ascii: "n"): out.append(Self.nl)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "e"): out.append(0x1B)
            case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = e == UInt8(ascii: "x") ? 2 : e == UInt8(ascii: "u") ? 4 : 8
                var v: UInt32 = 0
                for _ in 0..<count {
                    guard let h = cur, let d = Self.hexValue(h) else {
                        throw error("escape '\\\(Character(Unicode.Scalar(e)))' needs \(count) hex digits", at: escPos)
                    }
                    v = v << 4 | d
                    pos += 1
                }
                guard let scalar = Unicode.Scalar(v) else {
                    throw error("escape is not a valid Unicode scalar (U+\(String(v, radix: 16, uppercase: true)))", at: escPos)
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw error("unknown escape '\\\(excerpt(escPos + 1).prefix(1))' in a double-quoted string", at: escPos)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    /// `'...'` on one line; `''` is a literal quote, there are no other escapes.
    private mutating func parseSingleQuoted() throws(AttnError) -> String {
        let open = pos
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = cur, c != Self.nl else {
                throw error("unterminated single-quoted string (quotes must close on the same line)", at: open)
            }
            pos += 1
            if c == Self.sq {
                if cur == Self.sq { out.append(Self.sq); pos += 1; continue }
                break
            }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Skips spaces, line breaks and comments inside a flow collection; end of input is an error
    /// naming the opening bracket.
    private mutating func skipFlowSpace(open: Int, openLine: Int, openLineStart: Int, what: String) throws(AttnError) {
        while true {
            guard let c = cur else {
                throw ConfigLocation(file: file, line: openLine, column: columnOf(open, lineStart: openLineStart))
                    .error("unterminated \(what) (no closing '\(what == "flow sequence" ? "]" : "}")')")
            }
            if c == Self.sp { pos += 1; continue }
            if c == Self.nl { consumeNewline(); continue }
            if c == Self.tab {
                throw error("tab character (use spaces; tabs are allowed only in quotes and comments)")
            }
            if c == Self.hash && (pos == lineStart || b[pos - 1] == Self.sp) {
                skipToLineEnd(from: pos)
                continue
            }
            return
        }
    }

    /// When an error inside a flow collection is on a later line than its opening bracket, the
    /// likely cause is a missing closing bracket: say where it was opened.
    private func unclosedHint(_ open: Int, _ openLine: Int, _ openLineStart: Int, _ bracket: String) -> String {
        line == openLine ? "" : " (is the '\(bracket)' at line \(openLine), column \(columnOf(open, lineStart: openLineStart)) missing its closing bracket?)"
    }

    private func columnOf(_ at: Int, lineStart ls: Int) -> Int {
        var col = 1
        var i = ls
        while i < at { if b[i] & 0xC0 != 0x80 { col += 1 }; i += 1 }
        return col
    }

    /// `[a, b, ...]`, possibly spanning lines; a trailing comma is allowed.
    private mutating func parseFlowSequence() throws(AttnError) -> ConfigNode {
        let open = pos, openLine = line, openLineStart = lineStart
        let loc = location(pos)
        try enter(pos)
        defer { depth -= 1 }
        pos += 1
        var items: [ConfigNode] = []
        while true {
            try skipFlowSpace(open: open, openLine: openLine, openLineStart: openLineStart, what: "flow sequence")
            if cur == Self.rbracket { pos += 1; break }
            items.append(try parseInlineValue(flow: true))
            try skipFlowSpace(open: open, openLine: openLine, openLineStart: openLineStart, what: "flow sequence")
            guard let c = cur else { continue }
            if c == Self.comma { pos += 1; continue }
            if c == Self.rbracket { pos += 1; break }
            if c == Self.colon {
                throw error("'key: value' pairs inside [ ] are not supported; use a flow mapping { key: value }")
            }
            throw error("expected ',' or ']' in a flow sequence, found '\(excerpt(pos).prefix(1))'" + unclosedHint(open, openLine, openLineStart, "["))
        }
        return ConfigNode(.sequence(items), at: loc)
    }

    /// `{k: v, ...}`, possibly spanning lines; a trailing comma is allowed, every key needs a value
    /// separator `:` (an empty value is null).
    private mutating func parseFlowMapping() throws(AttnError) -> ConfigNode {
        let open = pos, openLine = line, openLineStart = lineStart
        let loc = location(pos)
        try enter(pos)
        defer { depth -= 1 }
        pos += 1
        var entries: [ConfigEntry] = []
        var seen: [String: ConfigLocation] = [:]
        while true {
            try skipFlowSpace(open: open, openLine: openLine, openLineStart: openLineStart, what: "flow mapping")
            if cur == Self.rbrace { pos += 1; break }
            let keyPos = pos
            let keyLoc = location(keyPos)
            let keyText: String
            if cur == Self.lbracket || cur == Self.lbrace {
                throw error("a collection cannot be a mapping key")
            } else if cur == Self.dq {
                keyText = try parseDoubleQuoted()
            } else if cur == Self.sq {
                keyText = try parseSingleQuoted()
            } else if canStartPlain(pos, flow: true) {
                keyText = try scanPlain(flow: true)
            } else {
                _ = try parseInlineValue(flow: true) // throws the specific message (anchor, tag, ...)
                throw error("expected a key", at: keyPos)
            }
            if keyText.isEmpty { throw error("empty mapping key", at: keyPos) }
            try skipFlowSpace(open: open, openLine: openLine, openLineStart: openLineStart, what: "flow mapping")
            guard cur == Self.colon else {
                throw error("expected ':' after key '\(keyText)' in a flow mapping (write 'key: value', with a space after ':')"
                            + unclosedHint(open, openLine, openLineStart, "{"))
            }
            pos += 1
            try skipFlowSpace(open: open, openLine: openLine, openLineStart: openLineStart, what: "flow mapping")
            let value: ConfigNode
            if cur == Self.comma || cur == Self.rbrace {
                value = ConfigNode(.null, at: location(pos))
            } else {
                value = try parseInlineValue(flow: true)
            }
            if let first = seen[keyText] {
                throw error("duplicate key '\(keyText)' (first defined at line \(first.line), column \(first.column))", at: keyPos)
            }
            seen[keyText] = keyLoc
            entries.append(ConfigEntry(key: keyText, keyLocation: keyLoc, value: value))
            try skipFlowSpace(open: open, openLine: openLine, openLineStart: openLineStart, what: "flow mapping")
            guard let c = cur else { continue }
            if c == Self.comma { pos += 1; continue }
            if c == Self.rbrace { pos += 1; break }
            throw error("expected ',' or '}' in a flow mapping, found '\(excerpt(pos).prefix(1))'" + unclosedHint(open, openLine, openLineStart, "{"))
        }
        return ConfigNode(.mapping(entries), at: loc)
    }
}
