import Testing
@testable import AttnCore

/// Parses `text` as "t.yaml" and returns the node (fails the test on error).
func parseOK(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigNode {
    do {
        return try ConfigParser.parse(text, file: "t.yaml")
    } catch {
        Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
        return ConfigNode(.null)
    }
}

/// The error line for `text`, or "no error".
func parseError(_ text: String) -> String {
    do {
        _ = try ConfigParser.parse(text, file: "t.yaml")
        return "no error"
    } catch {
        return error.description
    }
}

// Builders used to write expected trees compactly.
private func s(_ t: String) -> ConfigNode { ConfigNode(.scalar(t, quoted: false)) }
private func q(_ t: String) -> ConfigNode { ConfigNode(.scalar(t, quoted: true)) }
private let null = ConfigNode(.null)
private func seq(_ items: ConfigNode...) -> ConfigNode { ConfigNode(.sequence(items)) }
private func map(_ pairs: KeyValuePairs<String, ConfigNode>) -> ConfigNode { ConfigNode.mapping(pairs) }

struct ValidDocument: Sendable, CustomStringConvertible {
    let name: String
    let text: String
    let expected: ConfigNode
    var description: String { name }
}

@Suite struct ConfigParserValidTests {
    static let cases: [ValidDocument] = [
        .init(name: "empty", text: "", expected: null),
        .init(name: "only comments", text: "# a\n\n   # b\n", expected: null),
        .init(name: "flat mapping", text: "a: 1\nb: two\n", expected: map(["a": s("1"), "b": s("two")])),
        .init(name: "nested mapping", text: "a:\n  b:\n    c: 1\n  d: 2\ne: 3",
              expected: map(["a": map(["b": map(["c": s("1")]), "d": s("2")]), "e": s("3")])),
        .init(name: "empty values are null", text: "a:\nb: ~\nc: null\nd: # c\n",
              expected: map(["a": null, "b": null, "c": null, "d": null])),
        .init(name: "block sequence", text: "- 1\n- two\n-\n- \"3\"", expected: seq(s("1"), s("two"), null, q("3"))),
        .init(name: "sequence under key, indented", text: "k:\n  - a\n  - b\n", expected: map(["k": seq(s("a"), s("b"))])),
        .init(name: "sequence under key, same indent", text: "k:\n- a\n- b\nz: 1\n",
              expected: map(["k": seq(s("a"), s("b")), "z": s("1")])),
        .init(name: "mapping items in a sequence", text: "- name: a\n  size: 1\n- name: b\n",
              expected: seq(map(["name": s("a"), "size": s("1")]), map(["name": s("b")]))),
        .init(name: "nested inline sequences", text: "- - a\n  - b\n- c", expected: seq(seq(s("a"), s("b")), s("c"))),
        .init(name: "item on next line", text: "-\n  a: 1\n", expected: seq(map(["a": s("1")]))),
        .init(name: "flow sequence", text: "a: [1, 2.5, x y, \"q\", 'r']",
              expected: map(["a": seq(s("1"), s("2.5"), s("x y"), q("q"), q("r"))])),
        .init(name: "empty flow collections", text: "a: []\nb: {}", expected: map(["a": seq(), "b": map([:])])),
        .init(name: "flow mapping nested", text: "a: {b: 1, c: [1, {d: e}], f: }",
              expected: map(["a": map(["b": s("1"), "c": seq(s("1"), map(["d": s("e")])), "f": null])])),
        .init(name: "flow trailing comma", text: "a: [1, 2,]", expected: map(["a": seq(s("1"), s("2"))])),
        .init(name: "flow over lines with comments", text: "a: [1, # one\n  2,\n\n  3]\nb: 4",
              expected: map(["a": seq(s("1"), s("2"), s("3")), "b": s("4")])),
        .init(name: "quoted keys", text: "\"a b\": 1\n'c': 2", expected: map(["a b": s("1"), "c": s("2")])),
        .init(name: "double-quote escapes", text: #"a: "x\"y\\z\n\t\u00e9\x41\/""#,
              expected: map(["a": q("x\"y\\z\n\té" + "A/")])),
        .init(name: "single-quote escape", text: "a: 'it''s # not a comment'", expected: map(["a": q("it's # not a comment")])),
        .init(name: "trailing comments", text: "a: 1 # one\nb: x#y # z\n", expected: map(["a": s("1"), "b": s("x#y")])),
        .init(name: "colon without space in plain", text: "url: http://x:8/y", expected: map(["url": s("http://x:8/y")])),
        .init(name: "plain with inner spaces", text: "a:   hello   world  ", expected: map(["a": s("hello   world")])),
        .init(name: "numbers kept as text", text: "a: -2.5E+3\nb: .5\nc: 1e-3",
              expected: map(["a": s("-2.5E+3"), "b": s(".5"), "c": s("1e-3")])),
        .init(name: "CRLF line endings", text: "a: 1\r\nb:\r\n  - x\r\n", expected: map(["a": s("1"), "b": seq(s("x"))])),
        .init(name: "BOM", text: "\u{FEFF}a: 1", expected: map(["a": s("1")])),
        .init(name: "unicode", text: "名前: 値 # c", expected: map(["名前": s("値")])),
        .init(name: "tab inside quotes and comment", text: "a: \"x\ty\" #\tc", expected: map(["a": q("x\ty")])),
        .init(name: "scalar document", text: "hello", expected: s("hello")),
        .init(name: "dash-led plain scalars", text: "a: -5\nb: -x", expected: map(["a": s("-5"), "b": s("-x")])),
        .init(name: "quoted null stays string", text: "a: \"null\"\nb: '~'", expected: map(["a": q("null"), "b": q("~")])),
        .init(name: "deeper mapping under sequence item", text: "- a:\n    b: 1\n  c: 2",
              expected: seq(map(["a": map(["b": s("1")]), "c": s("2")]))),
        .init(name: "sequence value under sequence-item key", text: "- k:\n  - 1\n  - 2\n",
              expected: seq(map(["k": seq(s("1"), s("2"))]))),
    ]

    @Test(arguments: cases)
    func parses(_ c: ValidDocument) {
        #expect(parseOK(c.text) == c.expected)
    }

    @Test func locationsOfNodesAndKeys() throws {
        let doc = try ConfigParser.parse("# c\nhardware:\n  array:\n    rows:   abc\n  list: [1,  x]\n", file: "s.yaml")
        let hw = try #require(doc.entries?.first)
        #expect(hw.keyLocation == ConfigLocation(file: "s.yaml", line: 2, column: 1))
        let rows = try #require(doc["hardware"]?["array"]?["rows"])
        #expect(rows.location == ConfigLocation(file: "s.yaml", line: 4, column: 13))
        let x = try #require(doc["hardware"]?["list"]?.items?.last)
        #expect(x.location == ConfigLocation(file: "s.yaml", line: 5, column: 14))
    }

    @Test func columnsCountCharactersNotBytes() {
        #expect(parseError("é: [1, &x]") == "t.yaml:1:8: anchors ('&') are not supported")
    }

    @Test func mappingKeepsDocumentOrder() {
        let doc = parseOK("z: 1\na: 2\nm: 3")
        #expect(doc.entries?.map(\.key) == ["z", "a", "m"])
    }
}

struct RejectedDocument: Sendable, CustomStringConvertible {
    let text: String
    let error: String
    var description: String { error }
}

@Suite struct ConfigParserRejectTests {
    static let cases: [RejectedDocument] = [
        .init(text: "a: &x 1", error: "t.yaml:1:4: anchors ('&') are not supported"),
        .init(text: "a: 1\nb: *x", error: "t.yaml:2:4: aliases ('*') are not supported"),
        .init(text: "a: !!int 1", error: "t.yaml:1:4: tags ('!') are not supported"),
        .init(text: "a: [1, !t x]", error: "t.yaml:1:8: tags ('!') are not supported"),
        .init(text: "---\na: 1", error: "t.yaml:1:1: document markers ('---', '...') are not supported: one document per file"),
        .init(text: "a: 1\n...\n", error: "t.yaml:2:1: document markers ('---', '...') are not supported: one document per file"),
        .init(text: "a: 1\n--- # two\nb: 2", error: "t.yaml:2:1: document markers ('---', '...') are not supported: one document per file"),
        .init(text: "%YAML 1.2\na: 1", error: "t.yaml:1:1: directives ('%') are not supported"),
        .init(text: "a:\n\tb: 1", error: "t.yaml:2:1: tab character in indentation (indent with spaces)"),
        .init(text: "a:\n  \tb: 1", error: "t.yaml:2:3: tab character in indentation (indent with spaces)"),
        .init(text: "a:\t1", error: "t.yaml:1:3: tab character (use spaces; tabs are allowed only in quotes and comments)"),
        .init(text: "a: 1\nb: 2\na: 3", error: "t.yaml:3:1: duplicate key 'a' (first defined at line 1, column 1)"),
        .init(text: "x:\n  a: 1\n  a: 2", error: "t.yaml:3:3: duplicate key 'a' (first defined at line 2, column 3)"),
        .init(text: "a: {b: 1, b: 2}", error: "t.yaml:1:11: duplicate key 'b' (first defined at line 1, column 5)"),
        .init(text: "a:\n    b: 1\n  c: 2", error: "t.yaml:3:3: inconsistent indentation: 2 spaces, expected 0"),
        .init(text: "a: 1\n  b: 2", error: "t.yaml:2:3: inconsistent indentation: 2 spaces, expected 0 (a value cannot continue on the next line)"),
        .init(text: "a:\n  hello\n  world", error: "t.yaml:3:3: a value cannot continue on the next line (multi-line scalars are not supported; write it on one line, quoted if needed)"),
        .init(text: "- a\n- b:\n    c\n    d", error: "t.yaml:4:5: a value cannot continue on the next line (multi-line scalars are not supported; write it on one line, quoted if needed)"),
        .init(text: "a:\n  - x\n   y", error: "t.yaml:3:4: inconsistent indentation: 3 spaces, expected 2 (a value cannot continue on the next line)"),
        .init(text: "- a\n  - b", error: "t.yaml:2:3: inconsistent indentation: 2 spaces, expected 0 (a value cannot continue on the next line)"),
        .init(text: "a:\n  b: {x: 1}\n    c: 2", error: "t.yaml:3:5: inconsistent indentation: 4 spaces, expected 2"),
        .init(text: "a: \"abc", error: "t.yaml:1:4: unterminated double-quoted string (quotes must close on the same line)"),
        .init(text: "a: 'abc\nb: 1", error: "t.yaml:1:4: unterminated single-quoted string (quotes must close on the same line)"),
        .init(text: "a: [1, 2\nb: 3", error: "t.yaml:2:1: expected ',' or ']' in a flow sequence, found 'b' (is the '[' at line 1, column 4 missing its closing bracket?)"),
        .init(text: "a: [1, 2\n", error: "t.yaml:1:4: unterminated flow sequence (no closing ']')"),
        .init(text: "a: [1, 2\n b]", error: "t.yaml:2:2: expected ',' or ']' in a flow sequence, found 'b' (is the '[' at line 1, column 4 missing its closing bracket?)"), // scalars never span lines
        .init(text: "a: {b: 1\nc: 2", error: "t.yaml:2:1: expected ',' or '}' in a flow mapping, found 'c' (is the '{' at line 1, column 4 missing its closing bracket?)"),
        .init(text: "a:\n  b: {c: 1", error: "t.yaml:2:6: unterminated flow mapping (no closing '}')"),
        .init(text: "a: |\n  text", error: "t.yaml:1:4: block scalars ('|', '>') are not supported; use a double-quoted string with \\n escapes"),
        .init(text: "a: >-\n  text", error: "t.yaml:1:4: block scalars ('|', '>') are not supported; use a double-quoted string with \\n escapes"),
        .init(text: "a: [1] x", error: "t.yaml:1:8: unexpected text after the value: 'x'"),
        .init(text: "a: \"q\" x", error: "t.yaml:1:8: unexpected text after the value: 'x'"),
        .init(text: "a: \"q\"# c", error: "t.yaml:1:7: a comment needs a space before '#'"),
        .init(text: "a: b: c", error: "t.yaml:1:4: a nested mapping cannot start on the same line as its key; put it on the next line, indented"),
        .init(text: "a: - b", error: "t.yaml:1:4: a block sequence cannot start on the same line as its key; put '- item' on the next line"),
        .init(text: "a: x :", error: "t.yaml:1:4: a nested mapping cannot start on the same line as its key; put it on the next line, indented"),
        .init(text: "? a\n: b", error: "t.yaml:1:1: complex mapping keys ('? ') are not supported"),
        .init(text: ": b", error: "t.yaml:1:1: missing key before ':'"),
        .init(text: "a: [b: 1]", error: "t.yaml:1:6: 'key: value' pairs inside [ ] are not supported; use a flow mapping { key: value }"),
        .init(text: "a: [1 2]", error: "no error"), // `1 2` is one plain scalar, as in YAML
        .init(text: "a: {b}", error: "t.yaml:1:6: expected ':' after key 'b' in a flow mapping (write 'key: value', with a space after ':')"),
        .init(text: "a: {b:1}", error: "t.yaml:1:8: expected ':' after key 'b:1' in a flow mapping (write 'key: value', with a space after ':')"),
        .init(text: "a: [1,, 2]", error: "t.yaml:1:7: unexpected ','"),
        .init(text: "a: ]", error: "t.yaml:1:4: unexpected ']'"),
        .init(text: "a: \"\\q\"", error: "t.yaml:1:5: unknown escape '\\q' in a double-quoted string"),
        .init(text: "a: \"\\u12\"", error: "t.yaml:1:5: escape '\\u' needs 4 hex digits"),
        .init(text: "a: \"\\uD800\"", error: "t.yaml:1:5: escape is not a valid Unicode scalar (U+D800)"),
        .init(text: "a: 1\n- b", error: "t.yaml:2:1: a sequence item cannot follow a mapping entry at the same indentation"),
        .init(text: "- a\nb: 1", error: "t.yaml:2:1: unexpected content after the top-level a list at indentation 0: 'b: 1'"),
        .init(text: "a: 1\rb: 2", error: "t.yaml:1:5: carriage return without line feed (use LF or CRLF line endings)"),
        .init(text: "a: \u{01}", error: "t.yaml:1:4: control character 0x1 is not allowed"),
        .init(text: "a: 1\nb:2", error: "t.yaml:2:1: expected 'key: value' in a mapping, found 'b:2' (a space is needed after ':')"),
        .init(text: "a: 1\nb", error: "t.yaml:2:1: expected 'key: value' in a mapping, found 'b'"),
        .init(text: "a: %x", error: "t.yaml:1:4: '%' is reserved and cannot start a plain value; quote the value"),
        .init(text: "a: @x", error: "t.yaml:1:4: '@' is reserved and cannot start a plain value; quote the value"),
        .init(text: "\"\": 1", error: "t.yaml:1:1: empty mapping key"),
        .init(text: "a: {[1]: 2}", error: "t.yaml:1:5: a collection cannot be a mapping key"),
        .init(text: String(repeating: "[", count: 100), error: "t.yaml:1:65: nesting deeper than 64 levels"),
    ]

    @Test(arguments: cases)
    func rejects(_ c: RejectedDocument) {
        #expect(parseError(c.text) == c.error)
    }

    @Test func invalidUTF8IsLocated() {
        let bytes: [UInt8] = Array("a: 1\nb: x".utf8) + [0xFF]
        #expect(throws: AttnError.config(file: "t.yaml", line: 2, column: 5, message: "invalid UTF-8")) {
            try ConfigParser.parse(bytes: bytes, file: "t.yaml")
        }
    }

    @Test func deepBlockNestingIsRejected() {
        var text = ""
        for i in 0..<70 { text += String(repeating: " ", count: i) + "k:\n" }
        #expect(parseError(text) == "t.yaml:65:65: nesting deeper than 64 levels")
    }
}
