import AttnCore

/// `attnsim columns`: the report's columns and their meanings as text, Markdown or CSV.
public enum ColumnList {
    public enum Format: String, Sendable, CaseIterable {
        case text, markdown, csv
    }

    /// A group of columns that appear together, with the note that says when (empty for the fixed
    /// columns, which every report has).
    public struct Group: Sendable {
        public var columns: [(name: String, meaning: String)]
        public var note: String
        public init(_ columns: [(name: String, meaning: String)], note: String = "") {
            self.columns = columns
            self.note = note
        }
    }

    /// The note before an on-chip model column's meaning in `text` and `csv`.
    public static let onChipNote = "(only with hardware.dataflow: tiled, memory.sram_stage: true or attention.pruning.length_buckets) "
    /// The note before a banked-DRAM column's meaning in `text` and `csv`.
    public static let dramNote = "(banked DRAM model only) "

    /// The report's groups, in the order a report writes them: fixed, on-chip, banked DRAM.
    public static var reportGroups: [Group] {
        [Group(ReportRow.columns), Group(ReportRow.onChipColumns, note: onChipNote),
         Group(ReportRow.dramColumns, note: dramNote)]
    }

    /// `text`: `name<TAB>meaning` lines; `markdown`: the tables of docs/report-columns.md (one per
    /// group, separated by a blank line); `csv`: a `column,meaning` header and one record per column.
    /// In `text` and `csv` a group's meanings start with its note.
    public static func render(_ groups: [Group], format: Format) -> String {
        let all = groups.flatMap { g in g.columns.map { ($0.name, g.note + $0.meaning) } }
        switch format {
        case .text:
            return all.map { "\($0.0)\t\($0.1)\n" }.joined()
        case .markdown:
            func table(_ rows: [(name: String, meaning: String)]) -> String {
                "| column | meaning |\n|---|---|\n"
                    + rows.map { "| `\($0.name)` | \($0.meaning.replacingOccurrences(of: "|", with: "\\|")) |\n" }.joined()
            }
            return groups.filter { !$0.columns.isEmpty }.map { table($0.columns) }.joined(separator: "\n")
        case .csv:
            return CSV.record(["column", "meaning"]) + all.map { CSV.record([$0.0, $0.1]) }.joined()
        }
    }
}
