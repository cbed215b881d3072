import AttnCore
import Foundation

/// `attnsim table`: chosen columns of a report CSV as a Markdown table, numbers rounded to
/// `digits` significant digits (integers kept whole), so docs/results.md regenerates from commands.
public enum MarkdownTable {
    /// `rows` are indices into `table.rows` in output order (`RowSelection`); nil for every row.
    public static func render(_ table: CSVTable, columns: [String], rows: [Int]? = nil,
                              digits: Int = 4) throws(AttnError) -> String {
        var idx: [Int] = []
        for c in columns { idx.append(try table.columnIndex(c)) }
        var lines = ["| " + columns.joined(separator: " | ") + " |", "|" + columns.map { _ in "---|" }.joined()]
        for r in rows ?? Array(table.rows.indices) {
            lines.append("| " + idx.map { format(table.rows[r][$0], digits: digits) }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A number to `digits` significant digits (plain notation between 1e-4 and 1e9); text as it is
    /// with '|' escaped.
    public static func format(_ field: String, digits: Int) -> String {
        if Int64(field) != nil { return field }
        guard let v = Double(field), v.isFinite, field.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            return field.replacingOccurrences(of: "|", with: "\\|")
        }
        if v == 0 { return "0" }
        let mag = Int(floor(log10(abs(v))))
        if mag < -4 || mag >= 9 { return String(format: "%.\(max(digits - 1, 0))e", v) }
        let decimals = max(digits - 1 - mag, 0)
        var s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }
}
