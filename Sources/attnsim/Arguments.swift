import AttnCore

/// One option of a command: `--name VALUE` (or a bare flag when `valueName` is nil).
struct OptionSpec {
    let name: String
    let valueName: String?
    let help: String
    /// Shown in help as "(default: ...)"; nil for required or flag options.
    let defaultText: String?
    /// May be given several times (values collected in order).
    var repeatable = false
    /// A one-letter alias such as "-c" (for commands that mirror another tool's command line).
    var short: String? = nil

    static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: nil, help: help, defaultText: nil)
    }

    static func value(_ name: String, _ valueName: String, _ help: String, default defaultText: String? = nil) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help, defaultText: defaultText)
    }

    static func repeated(_ name: String, _ valueName: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help, defaultText: nil, repeatable: true)
    }
}

/// A subcommand: its synopsis, options and the function that runs it.
struct CommandSpec {
    let name: String
    let summary: String
    /// Positional arguments, e.g. ["CONFIG"]; the last may end in "..." for one or more.
    let positionals: [String]
    let options: [OptionSpec]
    let discussion: String
    let run: (ParsedArguments) throws -> Void

    var usage: String {
        var parts = ["attnsim", name]
        if !options.isEmpty { parts.append("[options]") }
        parts += positionals
        return parts.joined(separator: " ")
    }

    var helpText: String {
        var text = "\(summary)\n\nUsage: \(usage)\n"
        if !options.isEmpty {
            text += "\nOptions:\n"
            let all = options + [OptionSpec.flag("--help", "Show this help.")]
            let labels = all.map { o in (o.short.map { "\($0), " } ?? "") + (o.valueName.map { "\(o.name) \($0)" } ?? o.name) }
            let width = min(28, (labels.map(\.count).max() ?? 0) + 2)
            for (o, label) in zip(all, labels) {
                var line = "  " + label
                line += String(repeating: " ", count: max(2, width - label.count + 2))
                line += o.help
                if let d = o.defaultText { line += " (default: \(d))" }
                text += line + "\n"
            }
        }
        if !discussion.isEmpty { text += "\n" + discussion + "\n" }
        return text
    }
}

/// The parsed command line of one subcommand, with typed accessors whose errors name the flag.
struct ParsedArguments {
    let command: CommandSpec
    var positionals: [String] = []
    var values: [String: String] = [:]
    var lists: [String: [String]] = [:]
    var flags: Set<String> = []

    /// Parses `args` (after the subcommand name). Options may appear anywhere; `--name=value` and
    /// `--name value` are both accepted; `--` ends options.
    init(command: CommandSpec, args: [String]) throws {
        self.command = command
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            var arg = args[i]
            i += 1
            if !onlyPositionals, let alias = command.options.first(where: { $0.short != nil && $0.short == arg }) {
                arg = alias.name
            }
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                if !onlyPositionals, arg.hasPrefix("-"), arg != "-", arg.count > 1, Double(arg) == nil {
                    throw AttnError.usage(flag: arg, message: "unknown option (options are spelled --name; see 'attnsim \(command.name) --help')")
                }
                positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var name = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            guard let spec = command.options.first(where: { $0.name == name }) else {
                let suggestion = closestMatch(name, among: command.options.map(\.name) + ["--help"])
                throw AttnError.usage(flag: name, message: "unknown option for 'attnsim \(command.name)'"
                                      + (suggestion.map { "; did you mean \($0)?" } ?? ""))
            }
            if spec.valueName == nil {
                if inline != nil { throw AttnError.usage(flag: name, message: "takes no value") }
                flags.insert(name)
                continue
            }
            let value: String
            if let inline { value = inline } else {
                guard i < args.count else {
                    throw AttnError.usage(flag: name, message: "expected a value (\(spec.valueName!))")
                }
                value = args[i]
                i += 1
            }
            if spec.repeatable {
                lists[name, default: []].append(value)
                continue
            }
            if values[name] != nil { throw AttnError.usage(flag: name, message: "given more than once") }
            values[name] = value
        }
        let required = command.positionals.filter { !$0.hasPrefix("[") }
        let variadic = command.positionals.last?.hasSuffix("...") ?? false
        if positionals.count < required.count {
            throw AttnError.usage(flag: nil, message: "missing \(required[positionals.count]); usage: \(command.usage)")
        }
        if !variadic && positionals.count > command.positionals.count {
            throw AttnError.usage(flag: nil, message: "unexpected argument '\(positionals[command.positionals.count])'; usage: \(command.usage)")
        }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    func string(_ name: String) -> String? { values[name] }

    func all(_ name: String) -> [String] { lists[name] ?? [] }

    func double(_ name: String, default def: Double) throws -> Double {
        guard let text = values[name] else { return def }
        guard let v = Double(text), v.isFinite else {
            throw AttnError.usage(flag: name, message: "expected a number, got '\(text)'")
        }
        return v
    }

    func required(_ name: String) throws -> String {
        guard let v = values[name] else {
            let spec = command.options.first { $0.name == name }
            throw AttnError.usage(flag: name, message: "is required (\(spec?.valueName ?? "value"))")
        }
        return v
    }

    func int(_ name: String, default def: Int? = nil, range: ClosedRange<Int> = 1...Int.max) throws -> Int {
        guard let text = values[name] else {
            if let def { return def }
            return try int(name, text: required(name), range: range)
        }
        return try int(name, text: text, range: range)
    }

    private func int(_ name: String, text: String, range: ClosedRange<Int>) throws -> Int {
        guard let v = Int(text), range.contains(v) else {
            throw AttnError.usage(flag: name, message: "expected an integer in \(describe(range)), got '\(text)'")
        }
        return v
    }

    func choice<E: RawRepresentable & CaseIterable>(_ name: String, default def: E) throws -> E where E.RawValue == String {
        guard let text = values[name] else { return def }
        guard let v = E(rawValue: text) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw AttnError.usage(flag: name, message: "expected one of \(allowed), got '\(text)'")
        }
        return v
    }
}

func describe(_ range: ClosedRange<Int>) -> String {
    range.upperBound == Int.max ? "\(range.lowerBound)..." : "\(range.lowerBound)...\(range.upperBound)"
}

/// The candidate the user most likely meant (shared with the config language's did-you-mean).
func closestMatch(_ word: String, among candidates: [String]) -> String? {
    ConfigReader.suggestion(for: word, among: candidates)
}
