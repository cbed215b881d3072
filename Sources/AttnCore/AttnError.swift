/// Every error the tool reports to a user. Each case carries *where* (file, line, column, key path,
/// tensor name) and *what was expected*; `description` is the one line the CLI prints on stderr.
///
/// Exit codes (see `exitCode`): 2 for anything the user gave us that is wrong (usage, config, input
/// files), 1 for failures while running on valid input (I/O errors, interrupted work).
public enum AttnError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A wrong command line: unknown flag, missing value, bad number. `flag` is e.g. "--rows".
    case usage(flag: String?, message: String)
    /// A config file problem at a position: printed as `file:line:col: message`.
    case config(file: String, line: Int, column: Int, message: String)
    /// A bad input file (trace, model, text, thresholds). `item` names the tensor, key or record,
    /// when there is one: printed as `file: item: message`.
    case input(file: String, item: String?, message: String)
    /// A failure while running on valid inputs (cannot write output, interrupted, ...).
    case runtime(String)

    public var exitCode: Int32 {
        switch self {
        case .usage, .config, .input: return 2
        case .runtime: return 1
        }
    }

    public var description: String {
        switch self {
        case let .usage(flag?, message): return "\(flag): \(message)"
        case let .usage(nil, message): return message
        case let .config(file, line, column, message): return "\(file):\(line):\(column): \(message)"
        case let .input(file, item?, message): return "\(file): \(item): \(message)"
        case let .input(file, nil, message): return "\(file): \(message)"
        case let .runtime(message): return message
        }
    }
}
