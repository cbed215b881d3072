import AttnCore
import Foundation

/// One `--where` condition of `attnsim table` and `attnsim plot`:
///
/// - `COL=VALUE` keeps rows whose field is exactly VALUE (text), `COL!=VALUE` the others;
/// - `COL=LO..HI` keeps rows whose number is in [LO, HI] (either end may be left out: `COL=..64`);
/// - `COL<X`, `COL<=X`, `COL>X`, `COL>=X` compare numbers.
///
/// A numeric condition on a field that is not a number (`all`, empty) is an error naming the file,
/// line and column, not a silent skip; `nan` never matches. Conditions apply in the order given, so an
/// earlier text condition (`--where layer!=all`) can exclude the rows a later numeric one cannot read.
public struct RowFilter: Sendable, Equatable {
    public enum Test: Sendable, Equatable {
        case equals(String)
        case notEquals(String)
        /// Inclusive numeric range; nil ends are open.
        case range(Double?, Double?)
        case less(Double), lessOrEqual(Double), greater(Double), greaterOrEqual(Double)
    }

    public let column: String
    public let test: Test
    /// The condition as the user wrote it, for error messages.
    public let text: String

    public init(column: String, test: Test, text: String) {
        self.column = column
        self.test = test
        self.text = text
    }

    /// Parses one `--where` value; `flag` names the flag in errors.
    public init(parsing text: String, flag: String = "--where") throws(AttnError) {
        // Two-character operators first, so `<=` is not read as `<`.
        let operators = ["<=", ">=", "!=", "<", ">", "="]
        var found: (String, Range<String.Index>)?
        for op in operators {
            guard let r = text.range(of: op) else { continue }
            if found == nil || r.lowerBound < found!.1.lowerBound { found = (op, r) }
        }
        guard let (op, r) = found else {
            throw AttnError.usage(flag: flag, message: "expected COL=VALUE, COL=LO..HI, COL<X, COL<=X, COL>X, COL>=X or COL!=VALUE, got '\(text)'")
        }
        let column = String(text[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
        let value = String(text[r.upperBound...])
        guard !column.isEmpty else { throw AttnError.usage(flag: flag, message: "no column name before '\(op)' in '\(text)'") }
        func number(_ s: Substring) throws(AttnError) -> Double {
            let t = s.trimmingCharacters(in: .whitespaces)
            guard let v = Double(t), v.isFinite else {
                throw AttnError.usage(flag: flag, message: "expected a finite number, got '\(t)' in '\(text)'")
            }
            return v
        }
        let test: Test
        switch op {
        case "=":
            if let dots = value.range(of: "..") {
                let lo = value[..<dots.lowerBound], hi = value[dots.upperBound...]
                let loV = lo.isEmpty ? nil : try number(lo), hiV = hi.isEmpty ? nil : try number(hi)
                if loV == nil && hiV == nil { throw AttnError.usage(flag: flag, message: "a range needs at least one end, got '\(text)'") }
                if let loV, let hiV, loV > hiV { throw AttnError.usage(flag: flag, message: "empty range \(lo)..\(hi) in '\(text)'") }
                test = .range(loV, hiV)
            } else {
                test = .equals(value)
            }
        case "!=": test = .notEquals(value)
        case "<": test = .less(try number(value[...]))
        case "<=": test = .lessOrEqual(try number(value[...]))
        case ">": test = .greater(try number(value[...]))
        default: test = .greaterOrEqual(try number(value[...]))
        }
        self.init(column: column, test: test, text: text)
    }

    var isNumeric: Bool {
        switch test {
        case .equals, .notEquals: return false
        default: return true
        }
    }

    /// Whether `field` (at `line` of `file`) passes.
    func matches(_ field: String, file: String, line: Int) throws(AttnError) -> Bool {
        switch test {
        case let .equals(v): return field == v
        case let .notEquals(v): return field != v
        default: break
        }
        guard let x = Double(field) else {
            throw AttnError.input(file: "\(file):\(line)", item: "column '\(column)'",
                                  message: "'\(field)' is not a number (--where '\(text)'; exclude such rows first, e.g. --where '\(column)!=\(field)')")
        }
        switch test {
        case let .range(lo, hi): return (lo.map { x >= $0 } ?? true) && (hi.map { x <= $0 } ?? true)
        case let .less(v): return x < v
        case let .lessOrEqual(v): return x <= v
        case let .greater(v): return x > v
        case let .greaterOrEqual(v): return x >= v
        case .equals, .notEquals: return false
        }
    }
}

/// One `--sort` key: a column, ascending unless `:desc`.
public struct SortKey: Sendable, Equatable {
    public let column: String
    public let descending: Bool

    public init(column: String, descending: Bool = false) {
        self.column = column
        self.descending = descending
    }

    /// Parses `A[:asc|:desc],B[:desc],...` (one `--sort` value may hold several keys).
    public static func parse(_ text: String, flag: String = "--sort") throws(AttnError) -> [SortKey] {
        var keys: [SortKey] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !fields[0].isEmpty, fields.count <= 2 else {
                throw AttnError.usage(flag: flag, message: "expected COL[:asc|:desc][,COL...], got '\(text)'")
            }
            var descending = false
            if fields.count == 2 {
                switch fields[1] {
                case "asc": descending = false
                case "desc": descending = true
                default: throw AttnError.usage(flag: flag, message: "expected asc or desc after ':', got '\(fields[1])' in '\(text)'")
                }
            }
            keys.append(SortKey(column: fields[0], descending: descending))
        }
        return keys
    }
}

/// Rows of a report CSV chosen by `--where`, ordered by `--sort`.
public enum RowSelection {
    /// Indices into `table.rows` of the rows that pass every filter, in file order.
    public static func filter(_ table: CSVTable, _ filters: [RowFilter]) throws(AttnError) -> [Int] {
        var idx: [(Int, RowFilter)] = []
        for f in filters { idx.append((try table.columnIndex(f.column), f)) }
        var kept: [Int] = []
        rows: for (r, row) in table.rows.enumerated() {
            for (c, f) in idx where !(try f.matches(row[c], file: table.file, line: table.rowLines[r])) { continue rows }
            kept.append(r)
        }
        return kept
    }

    /// `rows` ordered by the keys, earlier keys first; ties keep file order. A key column whose every
    /// value among `rows` is a number sorts numerically (NaN last), any other column as text.
    public static func sort(_ table: CSVTable, rows: [Int], by keys: [SortKey]) throws(AttnError) -> [Int] {
        guard !keys.isEmpty else { return rows }
        struct Key { let column: Int; let numeric: Bool; let descending: Bool }
        var resolved: [Key] = []
        for k in keys {
            let c = try table.columnIndex(k.column)
            resolved.append(Key(column: c, numeric: rows.allSatisfy { Double(table.rows[$0][c]) != nil }, descending: k.descending))
        }
        func order(_ a: Int, _ b: Int) -> Bool {
            for k in resolved {
                let x = table.rows[a][k.column], y = table.rows[b][k.column]
                if k.numeric {
                    let u = Double(x)!, v = Double(y)!
                    if u == v || (u.isNaN && v.isNaN) { continue }
                    if u.isNaN { return false }  // NaN last in either direction
                    if v.isNaN { return true }
                    return k.descending ? u > v : u < v
                }
                if x == y { continue }
                return k.descending ? x > y : x < y
            }
            return a < b
        }
        return rows.sorted(by: order)
    }

    /// The rows (among `rows`) on the Pareto front of two numeric columns, ordered by the x column;
    /// rows where either is not a finite number are left out.
    public static func paretoFront(_ table: CSVTable, rows: [Int], x: String, xGoal: ScatterPlot.Goal,
                                   y: String, yGoal: ScatterPlot.Goal) throws(AttnError) -> [Int] {
        let xi = try table.columnIndex(x), yi = try table.columnIndex(y)
        var points: [ScatterPlot.Point] = [], source: [Int] = []
        for r in rows {
            guard let u = Double(table.rows[r][xi]), let v = Double(table.rows[r][yi]), u.isFinite, v.isFinite else { continue }
            points.append(ScatterPlot.Point(x: u, y: v))
            source.append(r)
        }
        return ScatterPlot.paretoFront(points, xGoal: xGoal, yGoal: yGoal).map { source[$0] }
    }
}
