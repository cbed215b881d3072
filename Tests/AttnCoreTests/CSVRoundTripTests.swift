import Foundation
import Testing
@testable import AttnCore

@Suite struct CSVRoundTripTests {
    @Test(arguments: [
        ("plain", "plain"), ("", ""), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""), ("cr\rx", "\"cr\rx\""), ("crlf\r\nx", "\"crlf\r\nx\""), (" padded ", " padded "), ("ünï", "ünï"),
    ])
    func quotesPerRFC4180(field: String, written: String) {
        #expect(CSV.field(field) == written)
    }

    @Test func readerRoundTripsWriterOutput() throws {
        let columns = ["a", "b c", "q\"uote"]
        let rows = [["1", "multi\nline, field", "\"\""], ["", " x ", "é"], ["crlf\r\ninside", "", ","]]
        let table = CSVTable(file: "w.csv", columns: columns, rows: rows)
        let back = try CSVTable(text: table.text, file: "w.csv")
        #expect(back.columns == columns)
        #expect(back.rows == rows)
    }

    @Test func crlfBomAndMissingFinalNewline() throws {
        let t = try CSVTable(text: "\u{FEFF}a,b\r\n1,2\r\n3,\"4\"", file: "x.csv")
        #expect(t.columns == ["a", "b"])
        #expect(t.rows == [["1", "2"], ["3", "4"]])
    }

    /// Line numbers are file lines, also after records that span several lines.
    @Test(arguments: [
        ("a,b\n1,\"open\n2,3\n", "x.csv:2: unterminated quoted field"),
        ("a,b\n1,2,3\n", "x.csv:2: record has 3 fields, the header has 2"),
        ("a,b\n\"multi\nline\",2\n1\n", "x.csv:4: record has 1 fields, the header has 2"),
        ("a,b\n\"x\ny\nz\",2\n\"p\nq\",3\n1,2,3\n", "x.csv:7: record has 3 fields, the header has 2"),
        ("a,b\n\"1\"x,2\n", "x.csv:2: unexpected character after a closing quote"),
        ("a,b\n1,ab\"c\n", "x.csv:2: quote inside an unquoted field"),
    ])
    func errorsNameFileAndLine(text: String, message: String) {
        #expect(throws: AttnError.self) { try CSVTable(text: text, file: "x.csv") }
        do { _ = try CSVTable(text: text, file: "x.csv") } catch { #expect(error.description == message) }
    }

    @Test func numbersRoundTrip() {
        #expect(CSV.number(0.1) == "0.1")
        #expect(CSV.number(1e-5) == "1e-05")
        #expect(CSV.number(3) == "3")
        #expect(CSV.number(-.infinity) == "-inf")
        var rng = SplitMix64(seed: 11)
        for _ in 0..<10_000 {
            let x = Double(bitPattern: rng.next())
            guard x.isFinite else { continue }
            #expect(Double(CSV.number(x)) == x)
        }
    }
}
