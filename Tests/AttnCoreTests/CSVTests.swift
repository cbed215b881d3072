import Foundation
import Testing
@testable import AttnCore

@Suite struct CSVTests {
    @Test(arguments: [
        ("plain", "plain"), ("", ""), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""), ("cr\rx", "\"cr\rx\""), (" padded ", " padded "), ("ünï", "ünï"),
    ])
    func quotesPerRFC4180(field: String, written: String) {
        #expect(CSVWriter.escape(field) == written)
    }

    @Test func writesHeaderAndRowsWithLF() throws {
        var w = CSVWriter(header: ["config_id", "note", "cycles"])
        try w.append(["a1", "x,y", "10"])
        try w.append(["config_id": "b2", "cycles": "20"])
        #expect(w.text == "config_id,note,cycles\na1,\"x,y\",10\nb2,,20\n")
        #expect(w.rowCount == 2)
        #expect(AttnErrorText { try w.append(["only one"]) } == "CSV row 3 has 1 fields, the header has 3")
        #expect(AttnErrorText { try w.append(["bogus": "1"]) } == "CSV row 3: unknown column(s) bogus")
    }

    /// Shortest round-trip formatting, checked by parsing back and against hand-written expectations.
    @Test func formatsNumbersShortestRoundTrip() {
        #expect(CSVWriter.format(0.1) == "0.1")
        #expect(CSVWriter.format(1.0) == "1.0")
        #expect(CSVWriter.format(1e-5) == "1e-05")
        #expect(CSVWriter.format(-0.0) == "-0.0")
        #expect(CSVWriter.format(Double.nan) == "nan")
        #expect(CSVWriter.format(-Double.infinity) == "-inf")
        #expect(CSVWriter.format(Float(0.1)) == "0.1")
        #expect(CSVWriter.format(42) == "42")
        var rng = SplitMix64(seed: 7)
        for _ in 0..<10_000 {
            let x = Double(bitPattern: rng.next())
            guard x.isFinite else { continue }
            #expect(Double(CSVWriter.format(x)) == x)
        }
    }

    @Test func readerRoundTripsWriterOutput() throws {
        var w = CSVWriter(header: ["a", "b c", "q\"uote"])
        let rows = [["1", "multi\nline, field", "\"\""], ["", " x ", "é"], ["crlf\r\ninside", "", ","]]
        for r in rows { try w.append(r) }
        let t = try CSVTable.parse(w.text, file: "w.csv")
        #expect(t.header == w.header)
        #expect(t.rows == rows)
        #expect(t.rowLines == [2, 4, 5])
        #expect(t.column("b c") == 1)
    }

    @Test func readerAcceptsCRLFBomAndMissingFinalNewline() throws {
        let t = try CSVTable.parse("\u{FEFF}a,b\r\n1,2\r\n3,\"4\"", file: "x.csv")
        #expect(t.header == ["a", "b"])
        #expect(t.rows == [["1", "2"], ["3", "4"]])
    }

    @Test(arguments: [
        ("a,b\n1,\"open\n2,3\n", "x.csv:2:3: unterminated quoted field"),
        ("a,b\n1,2,3\n", "x.csv:2:1: 3 fields, the header has 2"),
        ("a,b\n\"1\"x,2\n", "x.csv:2:4: unexpected character after a closing quote (expected ',' or end of line)"),
        ("a,b\n1,ab\"c\n", "x.csv:2:5: quote inside an unquoted field (quote the whole field and double the quote)"),
        ("a,b\n\"multi\nline\",2\n1\n", "x.csv:4:1: 1 fields, the header has 2"),
        ("", "x.csv:1:1: empty CSV file (a header row is required)"),
    ])
    func readerErrorsNameFileAndLine(text: String, message: String) {
        #expect(AttnErrorText { _ = try CSVTable.parse(text, file: "x.csv") } == message)
    }

    @Test func writesAtomicallyAndReadsBack() throws {
        let dir = try IOTestSupport.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = CSVWriter(header: ["k", "v"])
        try w.append(["x", "1.5"])
        try w.write(to: dir + "/r.csv")
        #expect(try CSVTable.read(path: dir + "/r.csv").rows == [["x", "1.5"]])
        #expect(AttnErrorText { _ = try CSVTable.read(path: dir + "/none.csv") } == "\(dir)/none.csv: cannot open: No such file or directory")
    }
}

/// The one-line description of the error `body` throws (nil if it does not throw).
func AttnErrorText(_ body: () throws -> Void) -> String? {
    IOTestSupport.errorText(body)
}
