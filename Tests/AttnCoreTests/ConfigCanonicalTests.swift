import Testing
@testable import AttnCore

@Suite struct SHA256HashTests {
    // Expected digests: FIPS 180-2 appendix B vectors, and Python's hashlib for the padding
    // boundaries (55/56/63/64 bytes) and a UTF-8 input.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (String(repeating: "a", count: 63), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        ("é\n", "edd3a863872a04239eb29ad4bc12fc892b3d4ae57cc7e786a3697816f8e141c2"),
    ])
    func vectors(_ message: String, _ hex: String) {
        #expect(SHA256Hash.hex(Array(message.utf8)) == hex)
    }

    @Test func millionAs() {
        #expect(SHA256Hash.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

private func canonical(_ text: String) throws -> String {
    try ConfigParser.parse(text, file: "c.yaml").canonicalText
}

private func id(_ text: String) throws -> String {
    try ConfigParser.parse(text, file: "c.yaml").configID
}

@Suite struct ConfigCanonicalTests {
    @Test func canonicalTextFollowsTheDocumentedRules() throws {
        let text = """
            z: os
            a:
              y: [1.50, '2', true, ~]
              b: {k: 1e0}
            list:
              - {n: 2, m: x}
              - [1]
            "odd key": []
            empty: {}
            """
        // Keys sorted by their (unquoted) bytes: a < empty < list < odd key < z.
        let expected = """
            a:
              b:
                k: 1
              y: [1.5, "2", true, null]
            empty: {}
            list:
              - m: "x"
                n: 2
              - [1]
            "odd key": []
            z: "os"

            """
        #expect(try canonical(text) == expected)
    }

    @Test(arguments: [
        ("x: 1.0", "x: 1"), ("x: 1.00", "x: 1"), ("x: 1e0", "x: 1"), ("x: +1", "x: 1"), ("x: 1", "x: 1"),
        ("x: 0.5", "x: .5"), ("x: 5e-1", "x: 0.50"), ("x: -0.0", "x: 0"), ("x: 007", "x: 7"),
        ("x: 1e-3", "x: 0.001"), ("x: 2.5E+3", "x: 2500"),
        ("{a: 1, b: 2}", "b: 2\na: 1"), ("a: {x: 1, y: 2}", "a:\n  y: 2\n  x: 1"),
        ("s: os", "s: 'os'"), ("s: os", "s: \"os\""), ("n: ~", "n:"), ("n: null", "n:  # comment"),
    ])
    func sameConfigSameID(_ a: String, _ b: String) throws {
        #expect(try id(a) == id(b))
        #expect(try canonical(a) == canonical(b))
    }

    @Test(arguments: [
        ("x: 1", "x: \"1\""), ("x: true", "x: \"true\""), ("x: 1", "x: 1.5"), ("x: [1, 2]", "x: [2, 1]"),
        ("x: null", "x: \"\""), ("a: {b: 1}", "a.b: 1"), ("x: 0.1", "x: 0.10000000000000002"),
        ("x: [1]", "x: 1"), ("x: {}", "x: []"), ("x: 1", "y: 1"),
    ])
    func differentConfigDifferentID(_ a: String, _ b: String) throws {
        #expect(try id(a) != id(b))
    }

    @Test func idIsTwelveHexDigitsOfTheCanonicalTextHash() throws {
        let node = try ConfigParser.parse("b: 2\na: [x]", file: "c.yaml")
        #expect(node.canonicalText == "a: [\"x\"]\nb: 2\n")
        // printf 'a: ["x"]\nb: 2\n' | sha256sum | cut -c1-12
        #expect(node.configID == "5edec57a00a0")
        #expect(node.configID.count == 12)
    }

    @Test func builtNodesMatchParsedOnes() throws {
        let built = ConfigNode.mapping([
            "hardware": .mapping(["rows": .int(32), "clock_ghz": .double(1.0), "name": .string("os"), "on": .bool(true)]),
            "list": .sequence([.double(0.25), .null()]),
        ])
        let parsed = try ConfigParser.parse("list: [.25, ~]\nhardware: {clock_ghz: 1, rows: 32, name: os, on: true}", file: "p.yaml")
        #expect(built.canonicalText == parsed.canonicalText)
        #expect(built.configID == parsed.configID)
    }

    @Test func canonicalTextParsesBack() throws {
        let tricky = """
            "key: with colon": "a \\"quote\\" and \\\\ and \\t tab"
            "#hash": '# not a comment'
            list:
              - - 1
                - {a: [x, {b: "\\u0085"}]}
              - name: "yes"
                other: -5
            unicode: 名前
            empty: ""
            null: ~
            """
        let node = try ConfigParser.parse(tricky, file: "t.yaml")
        let again = try ConfigParser.parse(node.canonicalText, file: "canonical")
        #expect(again.canonicalText == node.canonicalText)
        let r = try ConfigReader(again)
        #expect(try r.string("key: with colon") == "a \"quote\" and \\ and \t tab")
        #expect(try r.string("#hash") == "# not a comment")
        #expect(try r.string("unicode") == "名前")
        #expect(again["list"]?.items?[0].items?[1]["a"]?.items?[1]["b"]?.scalar?.text == "\u{85}")
    }

    @Test(arguments: [(1.0, "1"), (-3.0, "-3"), (0.1, "0.1"), (1e-5, "1e-05"), (1e20, "1e+20"),
                      (9007199254740991.0, "9007199254740991"), (0.0, "0"), (-0.0, "0"), (2.5, "2.5")])
    func canonicalNumbers(_ v: Double, _ text: String) {
        #expect(ConfigScalar.canonicalNumber(v) == text)
    }

    @Test(arguments: [("true", ConfigScalar.Kind.bool(true)), ("false", .bool(false)), ("yes", .string), ("True", .string),
                      ("12", .int(12)), ("-3", .int(-3)), ("+4", .int(4)), ("1.5", .number(1.5)), (".5", .number(0.5)),
                      ("5.", .number(5)), ("1e3", .number(1000)), ("1e", .string), ("e3", .string), (".", .string),
                      ("0x10", .string), ("1_000", .string), ("inf", .string), (".inf", .string), ("nan", .string),
                      ("--1", .string), ("1.2.3", .string), ("", .string)])
    func scalarKinds(_ text: String, _ kind: ConfigScalar.Kind) {
        #expect(ConfigScalar.kind(text, quoted: false) == kind)
        #expect(ConfigScalar.kind(text, quoted: true) == .string)
    }
}
