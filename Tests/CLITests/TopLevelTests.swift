import Foundation
import Testing

@Suite struct TopLevelCLITests {
    @Test func versionPrintsTheVersionAndExitsZero() throws {
        let r = try CLI.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("attnsim "))
        #expect(r.stdout.split(separator: " ").last?.split(separator: ".").count == 3)
    }

    @Test func helpListsUsageAndExitStatuses() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Usage: attnsim <command>"))
        #expect(r.stdout.contains("2 usage or input error"))
        #expect(r.stderr.isEmpty)
    }

    @Test func noArgumentsIsAUsageError() throws {
        let r = try CLI.run([])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("attnsim: missing command; usage: attnsim <command>"))
        #expect(r.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test func unknownCommandIsOneLineOnStderrWithExitTwo() throws {
        let r = try CLI.run(["frobnicate"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "attnsim: unknown command 'frobnicate' (see 'attnsim --help')\n")
    }
}
