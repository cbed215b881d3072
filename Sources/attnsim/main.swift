import AttnCore
import Foundation

// attnsim — argument parsing and wiring only; the work is done in the library modules.

/// Every command that works. A command is listed here (and so in the help) only once it is real.
let commands: [CommandSpec] = allCommands()

let overview = """
attnsim \(AttnSimVersion.string) — cost and accuracy of fixed-point attention accelerators,
from real attention traces.

Usage: attnsim <command> [options] [arguments]
       attnsim <command> --help
       attnsim --version
"""

@MainActor func topLevelHelp() -> String {
    var text = overview + "\n\nCommands:\n"
    let width = (commands.map(\.name.count).max() ?? 0) + 2
    for c in commands {
        text += "  " + c.name + String(repeating: " ", count: width - c.name.count) + c.summary + "\n"
    }
    text += "\nExit status: 0 success, 1 runtime failure, 2 usage or input error.\n"
    return text
}

func fail(_ error: AttnError) -> Never {
    FileHandle.standardError.write(Data(("attnsim: " + error.description + "\n").utf8))
    exit(error.exitCode)
}

@MainActor func main() -> Never {
    var args = Array(CommandLine.arguments.dropFirst())
    guard let first = args.first else {
        fail(.usage(flag: nil, message: "missing command; usage: attnsim <command> [options] [arguments] (commands: \(commands.map(\.name).joined(separator: ", ")); see 'attnsim --help')"))
    }
    if first == "--help" || first == "-h" || first == "help" {
        if first == "help", args.count > 1, let c = commands.first(where: { $0.name == args[1] }) {
            print(c.helpText, terminator: "")
        } else {
            print(topLevelHelp(), terminator: "")
        }
        exit(0)
    }
    if first == "--version" {
        print("attnsim \(AttnSimVersion.string)")
        exit(0)
    }
    args.removeFirst()
    guard let command = commands.first(where: { $0.name == first }) else {
        let hint = closestMatch(first, among: commands.map(\.name)).map { "; did you mean '\($0)'?" } ?? ""
        fail(.usage(flag: nil, message: "unknown command '\(first)'\(hint) (see 'attnsim --help')"))
    }
    if args.contains("--help") || args.contains("-h") {
        print(command.helpText, terminator: "")
        exit(0)
    }
    do {
        let parsed = try ParsedArguments(command: command, args: args)
        try command.run(parsed)
        exit(0)
    } catch let error as AttnError {
        fail(error)
    } catch {
        fail(.runtime("unexpected error: \(InputFile.plainReason(error))"))
    }
}

main()
