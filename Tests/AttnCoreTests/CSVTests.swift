import Foundation
import Testing
@testable import AttnCore

@Suite struct CSVTests {
    @Test(arguments: [
        ("plain", "plain"), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""), ("cr\r", "\"cr\r\""), ("", ""), (" spaced ", " spaced "),
    ])
    func fieldQuotingFollowsRFC4180(raw: String, quoted: String) {
        #expect(CSV.field(raw) == quoted)
    }

    @Test func numbersAreStable() {
        #expect(CSV.number(3) == "3")
        #expect(CSV.number(-0.0) == "0")
        #expect(CSV.number(0.1) == "0.1")
        #expect(CSV.number(1e-5) == "1e-05")
        #expect(CSV.number(1e20) == "1e+20")
        #expect(CSV.number(.nan) == "nan")
        #expect(CSV.number(-.infinity) == "-inf")
    }

    @Test func parseInvertsWrite() throws {
        let rows = [["a", "b,c", "d\"e"], ["multi\nline", "", "x"]]
        let text = rows.map(CSV.record).joined()
        #expect(try CSV.parse(text, file: "t.csv") == rows)
        #expect(try CSV.parse("a,b\r\n1,2\r\n", file: "t.csv") == [["a", "b"], ["1", "2"]])
        #expect(try CSV.parse("a,b\n1,2", file: "t.csv") == [["a", "b"], ["1", "2"]])
        #expect(try CSV.parse("a,\n", file: "t.csv") == [["a", ""]])
    }

    @Test func malformedCSVNamesTheLine() {
        #expect(throws: AttnError.input(file: "t.csv:2", item: nil, message: "unterminated quoted field")) {
            try CSV.parse("a\n\"b\n", file: "t.csv")
        }
        #expect(throws: AttnError.input(file: "t.csv:1", item: nil, message: "quote inside an unquoted field")) {
            try CSV.parse("ab\"c\n", file: "t.csv")
        }
        #expect(throws: AttnError.input(file: "t.csv:3", item: nil, message: "record has 1 fields, the header has 2")) {
            try CSVTable(text: "a,b\n1,2\n3\n", file: "t.csv")
        }
        #expect(throws: AttnError.input(file: "t.csv", item: nil, message: "no column 'cycle'; did you mean 'cycles'?")) {
            try CSVTable(text: "cycles,b\n1,2\n", file: "t.csv").columnIndex("cycle")
        }
    }
}

@Suite struct AtomicFileTests {
    @Test func writesAndReplacesWithoutLeavingTemporaries() throws {
        let dir = try Fixtures.temporaryDirectory()
        let path = dir.appendingPathComponent("out.csv").path
        try AtomicFile.write("one\n", to: path)
        try AtomicFile.write("two\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.csv"])
    }

    @Test func unwritableDestinationsFailBeforeWork() throws {
        #expect(throws: AttnError.usage(flag: "--out", message: "'/nonexistent-dir/x.csv': directory '/nonexistent-dir' does not exist")) {
            try AtomicFile.checkWritable("/nonexistent-dir/x.csv", flag: "--out")
        }
        let dir = try Fixtures.temporaryDirectory()
        #expect(throws: AttnError.self) { try AtomicFile.checkWritable(dir.path, flag: "--out") }
        try AtomicFile.checkWritable("-")
    }
}
