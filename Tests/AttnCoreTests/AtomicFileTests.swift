import Foundation
import Testing
@testable import AttnCore

@Suite struct AtomicFileCleanupTests {
    @Test func replacesContentAndLeavesNoTemporaryFile() throws {
        let dir = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.txt"
        try AtomicFile.write("first\n", to: path)
        try AtomicFile.write("second\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second\n")
        try AtomicFile.write(Data([1, 2, 3]), to: dir + "/b.bin")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/b.bin")) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["b.bin", "out.txt"])
        // 0666 less the umask, not mkstemp's 0600
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        let mask = umask(0); umask(mask)
        #expect(mode == 0o666 & ~Int(mask))
    }

    @Test func missingDirectoryIsAClearErrorAndWritesNothing() throws {
        let dir = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nope/out.csv"
        #expect(throws: AttnError.runtime("\(path): directory '\(dir)/nope' does not exist")) { try AtomicFile.checkWritable(path) }
        #expect(throws: AttnError.usage(flag: "--out", message: "'\(path)': directory '\(dir)/nope' does not exist")) {
            try AtomicFile.checkWritable(path, flag: "--out")
        }
        #expect(throws: AttnError.self) { try AtomicFile.write("x", to: path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func directoryTargetIsRejectedAndTemporaryFileRemoved() throws {
        let dir = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: AttnError.runtime("\(dir): is a directory, expected a file path")) { try AtomicFile.checkWritable(dir) }
        try AtomicFile.write("f", to: dir + "/file")
        #expect(throws: AttnError.self) { try AtomicFile.checkWritable(dir + "/file/x") }
        #expect(throws: AttnError.self) { try AtomicFile.write("x", to: dir + "/file/x") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["file"])
        #expect(AtomicFile.directory(of: "x.csv") == ".")
        #expect(AtomicFile.directory(of: "/a/b/x.csv") == "/a/b")
        try AtomicFile.checkWritable("-")
    }
}
