/// How a scalar's text is typed. Only *plain* (unquoted) scalars can be anything but strings:
///
/// | plain text                                   | type    |
/// |----------------------------------------------|---------|
/// | `true`, `false` (lowercase only)             | bool    |
/// | `[-+]?[0-9]+`                                | integer |
/// | `[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?` | number  |
/// | anything else (`yes`, `no`, `on`, `True`, `0x10`, `1_000`, `.inf`, `nan`) | string  |
///
/// `null`, `~` and empty values are nulls and are decided by the parser, not here.
public enum ConfigScalar {
    public enum Kind: Sendable, Equatable {
        case bool(Bool)
        /// Integer syntax; `nil` when it does not fit in `Int`.
        case int(Int?)
        /// Number syntax (with a `.` or exponent); the value may be ±infinity when out of range.
        case number(Double)
        case string
    }

    /// The type of a scalar as written. Quoted scalars are always strings.
    public static func kind(_ text: String, quoted: Bool) -> Kind {
        if quoted { return .string }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        switch numberSyntax(text) {
        case .integer: return .int(Int(text))
        case .float: return .number(Double(text) ?? .nan)
        case .none: return .string
        }
    }

    enum NumberSyntax { case integer, float }

    /// Checks the number grammar above without relying on `Double(String)`, which also accepts
    /// `inf`, `nan` and hexadecimal floats.
    static func numberSyntax(_ text: String) -> NumberSyntax? {
        let b = Array(text.utf8)
        var i = 0
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        var intDigits = 0
        while i < b.count, isDigit(b[i]) { i += 1; intDigits += 1 }
        var isFloat = false
        var fracDigits = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            isFloat = true
            i += 1
            while i < b.count, isDigit(b[i]) { i += 1; fracDigits += 1 }
        }
        if intDigits == 0 && fracDigits == 0 { return nil }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            isFloat = true
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            var expDigits = 0
            while i < b.count, isDigit(b[i]) { i += 1; expDigits += 1 }
            if expDigits == 0 { return nil }
        }
        if i != b.count { return nil }
        return isFloat ? .float : .integer
    }

    /// Canonical spelling of a finite number, used for `config_id`: numbers are compared by value,
    /// so `1`, `+1`, `1.0`, `1.00` and `1e0` all become `1`, and `.5`, `0.50`, `5e-1` become `0.5`.
    /// An integral value with |v| < 2^53 is written as an integer; any other value uses Swift's
    /// shortest round-trip form (`0.001`, `1e-05`, `1e+20`). `-0.0` is written `0`.
    public static func canonicalNumber(_ v: Double) -> String {
        if v.rounded(.towardZero) == v && abs(v) < 9_007_199_254_740_992 {
            return String(Int64(v))
        }
        return v.description
    }

    /// A double-quoted, escaped form of `s` that the parser reads back as `s`.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                // Characters the parser does not accept raw: C0/C1 controls, DEL, BOM.
                if u.value < 0x20 || u.value == 0x7F {
                    let hex = String(u.value, radix: 16, uppercase: true)
                    out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else if (0x80...0x9F).contains(u.value) || u.value == 0xFEFF {
                    let hex = String(u.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// `s` shortened to at most 40 characters (with "...") for error messages.
    public static func brief(_ s: String) -> String {
        s.count <= 40 ? s : String(s.prefix(37)) + "..."
    }

    /// `s` with control characters escaped (`\n`, `\t`, `\r`, `\xHH`, `\uHHHH`) so it prints on one line.
    public static func oneLine(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let hex = String(u.value, radix: 16, uppercase: true)
                    out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else if (0x80...0x9F).contains(u.value) {
                    out += "\\u00" + String(u.value, radix: 16, uppercase: true)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
