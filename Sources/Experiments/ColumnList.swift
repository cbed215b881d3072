import AttnCore

/// `attnsim columns`: the report's columns and their meanings as text, Markdown or CSV.
public enum ColumnList {
    public enum Format: String, Sendable, CaseIterable {
        case text, markdown, csv
    }

    /// `text`: `name<TAB>meaning` lines; `markdown`: the table of docs/report-columns.md;
    /// `csv`: a `column,meaning` header and one record per column.
    public static func render(_ columns: [(name: String, meaning: String)], format: Format) -> String {
        switch format {
        case .text:
            return columns.map { "\($0.name)\t\($0.meaning)\n" }.joined()
        case .markdown:
            return "| column | meaning |\n|---|---|\n"
                + columns.map { "| `\($0.name)` | \($0.meaning.replacingOccurrences(of: "|", with: "\\|")) |\n" }.joined()
        case .csv:
            return CSV.record(["column", "meaning"]) + columns.map { CSV.record([$0.name, $0.meaning]) }.joined()
        }
    }
}
