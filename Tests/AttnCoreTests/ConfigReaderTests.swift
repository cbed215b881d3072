import Testing
@testable import AttnCore

enum TestDataflow: String, CaseIterable, Sendable { case os, ws, inputStationary = "is" }

/// A small schema like the ones config decoders write, used to exercise the reader.
struct TestArrayConfig: Equatable {
    var rows = 32
    var cols = 32
    var clockGHz = 1.0
    var dataflow = TestDataflow.os
    var name = "default"
    var gated = false
    var sizes: [Int] = [1, 2]
    var label: String?

    init() {}

    init(_ node: ConfigNode) throws(AttnError) {
        let root = try ConfigReader(node)
        let r = try root.child("hardware").child("array")
        rows = try r.int("rows", default: rows, range: 1...65536)
        cols = try r.int("cols", default: cols, range: 1...)
        clockGHz = try r.double("clock_ghz", default: clockGHz, range: 0.01...100.0)
        dataflow = try r.choice("dataflow", default: dataflow)
        name = try r.string("name", default: name)
        gated = try r.bool("gated", default: gated)
        sizes = try r.ints("sizes", default: sizes, range: 0...)
        label = try r.optionalString("label")
        try root.finish()
    }
}

private func decode(_ text: String) throws(AttnError) -> TestArrayConfig {
    try TestArrayConfig(try ConfigParser.parse(text, file: "s.yaml"))
}

private func decodeError(_ text: String) -> String {
    do { _ = try decode(text); return "no error" } catch { return error.description }
}

struct DecodeErrorCase: Sendable, CustomStringConvertible {
    let text: String
    let error: String
    var description: String { error }
}

@Suite struct ConfigReaderTests {
    @Test func defaultsApplyToMissingKeysAndNulls() throws {
        #expect(try decode("") == TestArrayConfig())
        #expect(try decode("hardware:\n  array:\n    rows:\n    name: ~") == TestArrayConfig())
    }

    @Test func valuesAreRead() throws {
        let c = try decode("""
            hardware:
              array: {rows: 64, cols: 8, clock_ghz: 2, dataflow: is, name: '3', gated: true, sizes: [4, 5], label: x}
            """)
        #expect(c.rows == 64 && c.cols == 8 && c.clockGHz == 2.0 && c.dataflow == .inputStationary)
        #expect(c.name == "3" && c.gated && c.sizes == [4, 5] && c.label == "x")
    }

    static let errors: [DecodeErrorCase] = [
        .init(text: "hardware:\n  array:\n    rows: abc",
              error: "s.yaml:3:11: hardware.array.rows: expected an integer in 1...65536, got 'abc'"),
        .init(text: "hardware:\n  array:\n    rows: 0",
              error: "s.yaml:3:11: hardware.array.rows: expected an integer in 1...65536, got 0"),
        .init(text: "hardware:\n  array:\n    rows: 2.0",
              error: "s.yaml:3:11: hardware.array.rows: expected an integer in 1...65536, got '2.0'"),
        .init(text: "hardware:\n  array:\n    rows: \"3\"",
              error: "s.yaml:3:11: hardware.array.rows: expected an integer in 1...65536, got the quoted string \"3\""),
        .init(text: "hardware:\n  array:\n    rows: 99999999999999999999999",
              error: "s.yaml:3:11: hardware.array.rows: expected an integer in 1...65536, got '99999999999999999999999' (too large)"),
        .init(text: "hardware:\n  array:\n    rows: [1]",
              error: "s.yaml:3:11: hardware.array.rows: expected an integer in 1...65536, got a list"),
        .init(text: "hardware:\n  array:\n    cols: -1",
              error: "s.yaml:3:11: hardware.array.cols: expected an integer >= 1, got -1"),
        .init(text: "hardware:\n  array:\n    clock_ghz: fast",
              error: "s.yaml:3:16: hardware.array.clock_ghz: expected a number in 0.01...100.0, got 'fast'"),
        .init(text: "hardware:\n  array:\n    clock_ghz: 1e999",
              error: "s.yaml:3:16: hardware.array.clock_ghz: expected a number in 0.01...100.0, got '1e999' (out of range)"),
        .init(text: "hardware:\n  array:\n    clock_ghz: 200",
              error: "s.yaml:3:16: hardware.array.clock_ghz: expected a number in 0.01...100.0, got 200"),
        .init(text: "hardware:\n  array:\n    clock_ghz: .inf",
              error: "s.yaml:3:16: hardware.array.clock_ghz: expected a number in 0.01...100.0, got '.inf'"),
        .init(text: "hardware:\n  array:\n    gated: yes",
              error: "s.yaml:3:12: hardware.array.gated: expected true or false, got 'yes'"),
        .init(text: "hardware:\n  array:\n    gated: True",
              error: "s.yaml:3:12: hardware.array.gated: expected true or false, got 'True'"),
        .init(text: "hardware:\n  array:\n    dataflow: wx",
              error: "s.yaml:3:15: hardware.array.dataflow: expected one of os, ws, is, got 'wx'; did you mean 'ws'?"),
        .init(text: "hardware:\n  array:\n    name: {a: 1}",
              error: "s.yaml:3:11: hardware.array.name: expected a string, got a mapping"),
        .init(text: "hardware:\n  array:\n    sizes: [1, x]",
              error: "s.yaml:3:16: hardware.array.sizes[1]: expected an integer >= 0, got 'x'"),
        .init(text: "hardware:\n  array:\n    sizes: 3",
              error: "s.yaml:3:12: hardware.array.sizes: expected a list of integers, got '3'"),
        .init(text: "hardware:\n  array: 5",
              error: "s.yaml:2:10: hardware.array: expected a mapping, got '5'"),
        .init(text: "hardware:\n  array:\n    rowz: 3",
              error: "s.yaml:3:5: hardware.array.rowz: unknown key; did you mean 'rows'? (allowed: rows, cols, clock_ghz, dataflow, name, gated, sizes, label)"),
        .init(text: "hardware:\n  array:\n    clock: 3",
              error: "s.yaml:3:5: hardware.array.clock: unknown key; did you mean 'clock_ghz'? (allowed: rows, cols, clock_ghz, dataflow, name, gated, sizes, label)"),
        .init(text: "hardware:\n  array:\n    zzzzzz: 3",
              error: "s.yaml:3:5: hardware.array.zzzzzz: unknown key (allowed: rows, cols, clock_ghz, dataflow, name, gated, sizes, label)"),
        .init(text: "hardwar:\n  array: {}",
              error: "s.yaml:1:1: hardwar: unknown key; did you mean 'hardware'? (allowed: hardware)"),
        .init(text: "hardware:\n  arry: {}",
              error: "s.yaml:2:3: hardware.arry: unknown key; did you mean 'array'? (allowed: array)"),
        .init(text: "- 1", error: "s.yaml:1:1: expected a mapping, got a list"),
    ]

    @Test(arguments: errors)
    func decodingErrors(_ c: DecodeErrorCase) {
        #expect(decodeError(c.text) == c.error)
    }

    @Test func intsAreAcceptedAsDoubles() throws {
        #expect(try decode("hardware: {array: {clock_ghz: 3}}").clockGHz == 3.0)
    }

    @Test(arguments: [("1e-3", 0.001), (".5", 0.5), ("-2.5E+3", -2500.0), ("+4.", 4.0), ("7", 7.0)])
    func numberSpellings(_ text: String, _ value: Double) throws {
        let r = try ConfigReader(try ConfigParser.parse("x: \(text)", file: "n.yaml"))
        #expect(try r.double("x") == value)
    }

    @Test func requiredKeysAreReported() throws {
        let r = try ConfigReader(try ConfigParser.parse("a:\n  b: 1", file: "r.yaml"))
        let a = try r.child("a")
        #expect(throws: AttnError.config(file: "r.yaml", line: 2, column: 3,
                                         message: "a.c: missing required value (expected an integer in 1...8)")) {
            try a.int("c", range: 1...8)
        }
        let withNull = try ConfigReader(try ConfigParser.parse("k:", file: "r.yaml"))
        #expect(throws: AttnError.config(file: "r.yaml", line: 1, column: 3,
                                         message: "k: missing required value (expected a string)")) {
            try withNull.string("k")
        }
    }

    @Test func choiceRequiredAndOptional() throws {
        let r = try ConfigReader(try ConfigParser.parse("d: \"ws\"", file: "c.yaml"))
        #expect(try r.choice("d", as: TestDataflow.self) == .ws)
        #expect(try r.optionalChoice("e", as: TestDataflow.self) == nil)
    }

    @Test func childListAndCounts() throws {
        let doc = try ConfigParser.parse("layers:\n  - {n: 1}\n  - n: 2\n    extra: 0\nxs: [1.5, 2]", file: "l.yaml")
        let r = try ConfigReader(doc)
        let layers = try r.childList("layers")
        #expect(try layers.map { try $0.int("n") } == [1, 2])
        #expect(try r.doubles("xs", default: [], count: 2...2) == [1.5, 2.0])
        #expect(throws: AttnError.config(file: "l.yaml", line: 4, column: 5,
                                         message: "layers[1].extra: unknown key (allowed: n)")) {
            try r.finish()
        }
        #expect(throws: AttnError.config(file: "l.yaml", line: 5, column: 5, message: "xs: expected 3 numbers, got 2")) {
            try r.doubles("xs", default: [], count: 3...3)
        }
    }

    @Test func allowAndNodeMarkKeysKnown() throws {
        let r = try ConfigReader(try ConfigParser.parse("a: 1\nb: [x]\nc: 2", file: "k.yaml"))
        r.allow("a")
        #expect(r.node("b")?.items?.count == 1)
        #expect(r.has("c"))
        try r.finish()
    }

    @Test func crossFieldErrorsNameTheKey() throws {
        let r = try ConfigReader(try ConfigParser.parse("m:\n  heads: 6\n", file: "x.yaml"))
        let m = try r.child("m")
        #expect(m.error("heads", "must divide 64").description == "x.yaml:2:10: m.heads: must divide 64")
        #expect(m.error(nil, "bad").description == "x.yaml:2:3: m: bad")
    }

    @Test(arguments: [("rows", "rowz", true), ("clock_ghz", "clock", true), ("dataflow", "dtaflow", true),
                      ("rows", "banana", false), ("a", "b", true), ("rows", "ROWS", true)])
    func suggestions(_ allowed: String, _ typed: String, _ suggested: Bool) {
        #expect((ConfigReader.suggestion(for: typed, among: [allowed, "something_else_entirely"]) == allowed) == suggested)
    }

    @Test(arguments: [("kitten", "sitting", 3), ("", "abc", 3), ("flaw", "lawn", 2), ("same", "same", 0)])
    func editDistance(_ a: String, _ b: String, _ d: Int) {
        #expect(ConfigReader.editDistance(Array(a), Array(b)) == d)
    }
}
