import AttnCore

/// `attnsim columns`: the report's columns and their meanings as text, Markdown or CSV.
public enum ColumnList {
    public enum Format: String, Sendable, CaseIterable {
        case text, markdown, csv
    }

    /// The note before a banked-DRAM column's meaning in `text` and `csv`.
    public static let dramNote = "(banked DRAM model only) "

    /// `text`: `name<TAB>meaning` lines; `markdown`: the tables of docs/report-columns.md (the fixed
    /// columns, a blank line, the banked DRAM model's columns); `csv`: a `column,meaning` header and one
    /// record per column. In `text` and `csv` the DRAM columns follow the others, their meanings
    /// starting with `dramNote`.
    public static func render(_ columns: [(name: String, meaning: String)], dram: [(name: String, meaning: String)] = [],
                              format: Format) -> String {
        let all = columns + dram.map { ($0.name, dramNote + $0.meaning) }
        switch format {
        case .text:
            return all.map { "\($0.0)\t\($0.1)\n" }.joined()
        case .markdown:
            func table(_ rows: [(name: String, meaning: String)]) -> String {
                "| column | meaning |\n|---|---|\n"
                    + rows.map { "| `\($0.name)` | \($0.meaning.replacingOccurrences(of: "|", with: "\\|")) |\n" }.joined()
            }
            return table(columns) + (dram.isEmpty ? "" : "\n" + table(dram))
        case .csv:
            return CSV.record(["column", "meaning"]) + all.map { CSV.record([$0.0, $0.1]) }.joined()
        }
    }
}
