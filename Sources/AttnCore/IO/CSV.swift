import Foundation

/// CSV per RFC 4180: fields containing a comma, a double quote, CR or LF are quoted, embedded
/// quotes doubled; records end with LF (RFC 4180 says CRLF; every CSV reader accepts LF, and it
/// keeps files diffable — documented in docs/report-columns.md).
public enum CSV {
    /// One field, quoted when needed.
    public static func field(_ s: String) -> String {
        // Scalars, not Characters: "\r\n" is one Character equal to neither "\r" nor "\n".
        if s.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    /// One record, LF-terminated.
    public static func record(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\n"
    }

    /// A number in a stable, locale-independent form: integers without a decimal point, other
    /// values in Swift's shortest representation that round-trips (`0.1`, `1e-05`), non-finite
    /// values as `nan`, `inf`, `-inf`.
    public static func number(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// Parses CSV text into records of fields. Accepts LF and CRLF line ends, quoted fields with
    /// embedded separators, quotes and newlines. Errors name `file:line`.
    public static func parse(_ text: String, file: String) throws(AttnError) -> [[String]] {
        try parseWithLines(text, file: file).records
    }

    /// `parse`, plus the 1-based line on which each record starts (records may span lines).
    static func parseWithLines(_ text: String, file: String) throws(AttnError) -> (records: [[String]], lines: [Int]) {
        var records: [[String]] = []
        var lines: [Int] = []
        var recordStart = 1
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var fieldStarted = false
        var line = 1
        var quoteLine = 1
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        i += 2
                        continue
                    }
                    inQuotes = false
                    i += 1
                    if i < chars.count, chars[i] != ",", chars[i] != "\n", chars[i] != "\r" {
                        throw AttnError.input(file: "\(file):\(line)", item: nil, message: "unexpected character after a closing quote")
                    }
                    continue
                }
                if c == "\n" { line += 1 }
                field.unicodeScalars.append(c)
                i += 1
                continue
            }
            switch c {
            case "\"":
                if !field.isEmpty {
                    throw AttnError.input(file: "\(file):\(line)", item: nil, message: "quote inside an unquoted field")
                }
                inQuotes = true
                quoteLine = line
                fieldStarted = true
            case ",":
                record.append(field)
                field = ""
                fieldStarted = true
            case "\r" where i + 1 < chars.count && chars[i + 1] == "\n":
                i += 1
                fallthrough
            case "\n":
                record.append(field)
                records.append(record)
                lines.append(recordStart)
                record = []
                field = ""
                fieldStarted = false
                line += 1
                recordStart = line
            default:
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if inQuotes {
            throw AttnError.input(file: "\(file):\(quoteLine)", item: nil, message: "unterminated quoted field")
        }
        if fieldStarted || !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
            lines.append(recordStart)
        }
        return (records, lines)
    }
}

/// A CSV table with a header, read from a file: rows as dictionaries by column name.
public struct CSVTable: Sendable {
    public let file: String
    public let columns: [String]
    public let rows: [[String]]
    /// The line of the file where each row starts (the header is line 1), for located errors.
    public let rowLines: [Int]

    public init(file: String, columns: [String], rows: [[String]]) {
        self.file = file
        self.columns = columns
        self.rows = rows
        self.rowLines = rows.indices.map { $0 + 2 }
    }

    /// Reads `path` (`-` for stdin); every row must have as many fields as the header.
    public init(path: String) throws(AttnError) {
        let text: String
        if path == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            let data = try InputFile.read(path, kind: "a CSV file")
            text = String(decoding: data, as: UTF8.self)
        }
        try self.init(text: text, file: path)
    }

    public init(text: String, file: String) throws(AttnError) {
        let (records, lines) = try CSV.parseWithLines(text, file: file)
        guard let header = records.first, !(header.count == 1 && header[0].isEmpty) else {
            throw AttnError.input(file: file, item: nil, message: "empty CSV file, expected a header row")
        }
        var seen = Set<String>()
        for c in header where !seen.insert(c).inserted {
            throw AttnError.input(file: "\(file):1", item: nil, message: "duplicate column '\(c)'")
        }
        for (r, line) in zip(records, lines).dropFirst() where r.count != header.count {
            throw AttnError.input(file: "\(file):\(line)", item: nil, message: "record has \(r.count) fields, the header has \(header.count)")
        }
        self.file = file
        self.columns = header
        self.rows = Array(records.dropFirst())
        self.rowLines = Array(lines.dropFirst())
    }

    public func columnIndex(_ name: String) throws(AttnError) -> Int {
        guard let i = columns.firstIndex(of: name) else {
            let hint = ConfigReader.suggestion(for: name, among: columns).map { "; did you mean '\($0)'?" } ?? ""
            throw AttnError.input(file: file, item: nil, message: "no column '\(name)'\(hint)")
        }
        return i
    }

    /// The CSV text of this table.
    public var text: String {
        CSV.record(columns) + rows.map(CSV.record).joined()
    }
}
