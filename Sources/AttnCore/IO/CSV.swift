/// CSV as in RFC 4180, with two documented choices: records end in LF (not CRLF; the reader accepts
/// both), and the first record is always the header.
///
/// Quoting (RFC 4180 §2.6–2.7): a field containing a comma, a double quote, CR or LF is enclosed in
/// double quotes and each embedded quote is doubled; other fields are written as is. Leading or
/// trailing spaces are kept verbatim (they are data).
///
/// Numbers (`CSVWriter.format`): Double and Float use Swift's `description`, which prints the
/// *shortest* decimal string that parses back to the same value (e.g. `0.1`, `1e-05`, `1.0`,
/// `123456789.0`, `1.2345678901234567e+19`); non-finite values print as `nan`, `inf`, `-inf`;
/// `-0.0` prints as `-0.0`. Python's `float()` and numpy/pandas parse all of these exactly.
public struct CSVWriter: Sendable {
    public let header: [String]
    /// The document so far: the header line followed by every appended row, each ending in "\n".
    public private(set) var text: String
    public private(set) var rowCount = 0

    public init(header: [String]) {
        precondition(!header.isEmpty, "CSV header must have at least one column")
        self.header = header
        self.text = header.map(Self.escape).joined(separator: ",") + "\n"
    }

    /// Appends one record; it must have exactly one field per header column.
    public mutating func append(_ row: [String]) throws(AttnError) {
        guard row.count == header.count else {
            throw AttnError.runtime("CSV row \(rowCount + 1) has \(row.count) fields, the header has \(header.count)")
        }
        text += row.map(Self.escape).joined(separator: ",")
        text += "\n"
        rowCount += 1
    }

    /// Appends one record given as column → value; missing columns are empty, unknown keys are an error.
    public mutating func append(_ fields: [String: String]) throws(AttnError) {
        let unknown = fields.keys.filter { !header.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw AttnError.runtime("CSV row \(rowCount + 1): unknown column(s) \(unknown.joined(separator: ", "))")
        }
        try append(header.map { fields[$0] ?? "" })
    }

    /// Writes the document atomically (`-` = standard output).
    public func write(to path: String) throws(AttnError) {
        try AtomicFile.write(text, to: path)
    }

    /// RFC 4180 field quoting.
    public static func escape(_ field: String) -> String {
        let needsQuotes = field.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Shortest round-trip decimal for a Double (see the type's doc comment).
    public static func format(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return x.description
    }

    /// Shortest round-trip decimal for a Float (as a Float, so `0.1` stays `0.1`).
    public static func format(_ x: Float) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return x.description
    }

    public static func format(_ x: Int) -> String { String(x) }
}

/// A parsed CSV document: the header and the records (all with the header's field count).
public struct CSVTable: Sendable, Equatable {
    public let header: [String]
    public let rows: [[String]]
    /// The 1-based line on which each row starts (for error messages about a row's content).
    public let rowLines: [Int]

    public init(header: [String], rows: [[String]], rowLines: [Int]) {
        self.header = header
        self.rows = rows
        self.rowLines = rowLines
    }

    /// Index of a column, or nil.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// Reads and parses a CSV file; errors are `file:line:column: message`.
    public static func read(path: String) throws(AttnError) -> CSVTable {
        try parse(try readFileBytes(path), file: path)
    }

    /// Parses RFC 4180 text: quoted fields may hold commas, doubled quotes, CR and LF; records end in
    /// LF or CRLF; a final line break is optional; a UTF-8 BOM is skipped. Every record must have the
    /// header's field count. Errors name `file:line:column` (1-based, column in bytes).
    public static func parse(_ text: String, file: String) throws(AttnError) -> CSVTable {
        try parse(Array(text.utf8), file: file)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(AttnError) -> CSVTable {
        var records: [[String]] = []
        var lines: [Int] = []
        var i = 0
        let n = bytes.count
        if n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        var line = 1
        var lineStart = i
        func err(_ message: String, _ at: Int) -> AttnError {
            .config(file: file, line: line, column: at - lineStart + 1, message: message)
        }
        func string(_ s: ArraySlice<UInt8>, _ at: Int) throws(AttnError) -> String {
            guard let v = String(validating: s, as: UTF8.self) else { throw err("invalid UTF-8", at) }
            return v
        }
        while i < n {
            var record: [String] = []
            let recordLine = line
            while true {
                // One field.
                if i < n, bytes[i] == UInt8(ascii: "\"") {
                    let openLine = line, openCol = i - lineStart + 1
                    i += 1
                    var field: [UInt8] = []
                    while true {
                        guard i < n else {
                            throw AttnError.config(file: file, line: openLine, column: openCol, message: "unterminated quoted field")
                        }
                        let c = bytes[i]
                        if c == UInt8(ascii: "\"") {
                            if i + 1 < n, bytes[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                            i += 1
                            break
                        }
                        if c == 0x0A { line += 1; lineStart = i + 1 }
                        field.append(c)
                        i += 1
                    }
                    record.append(try string(field[...], i))
                    if i < n, bytes[i] != UInt8(ascii: ","), bytes[i] != 0x0A, !(bytes[i] == 0x0D && i + 1 < n && bytes[i + 1] == 0x0A) {
                        throw err("unexpected character after a closing quote (expected ',' or end of line)", i)
                    }
                } else {
                    let start = i
                    while i < n, bytes[i] != UInt8(ascii: ","), bytes[i] != 0x0A {
                        if bytes[i] == UInt8(ascii: "\"") { throw err("quote inside an unquoted field (quote the whole field and double the quote)", i) }
                        if bytes[i] == 0x0D {
                            if i + 1 < n, bytes[i + 1] == 0x0A { break }
                            throw err("bare CR inside an unquoted field", i)
                        }
                        i += 1
                    }
                    record.append(try string(bytes[start..<i], start))
                }
                // Separator or end of record.
                if i < n, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if i < n, bytes[i] == 0x0D { i += 1 }
                if i < n, bytes[i] == 0x0A { i += 1; line += 1; lineStart = i }
                break
            }
            records.append(record)
            lines.append(recordLine)
        }
        guard let header = records.first else {
            throw AttnError.config(file: file, line: 1, column: 1, message: "empty CSV file (a header row is required)")
        }
        for (r, l) in zip(records.dropFirst(), lines.dropFirst()) where r.count != header.count {
            throw AttnError.config(file: file, line: l, column: 1, message: "\(r.count) fields, the header has \(header.count)")
        }
        return CSVTable(header: header, rows: Array(records.dropFirst()), rowLines: Array(lines.dropFirst()))
    }
}

/// Reads a whole file (input error naming the path on failure).
func readFileBytes(_ path: String) throws(AttnError) -> [UInt8] {
    let storage = try SafetensorsStorage(mappingFile: path)
    return Array(storage.buffer)
}
