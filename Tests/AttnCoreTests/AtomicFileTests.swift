import Foundation
import Testing
@testable import AttnCore

@Suite struct AtomicFileTests {
    @Test func replacesContentAndLeavesNoTemporaryFile() throws {
        let dir = try IOTestSupport.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.txt"
        try AtomicFile.write("first\n", to: path)
        try AtomicFile.write("second\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second\n")
        try AtomicFile.write(Data([1, 2, 3]), to: dir + "/b.bin")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/b.bin")) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["b.bin", "out.txt"])
    }

    @Test func relativePathWithoutDirectoryUsesCwd() throws {
        #expect(AtomicFile.directory(of: "x.csv") == ".")
        #expect(AtomicFile.directory(of: "/a/b/x.csv") == "/a/b")
    }

    @Test func missingDirectoryIsAClearErrorAndWritesNothing() throws {
        let dir = try IOTestSupport.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nope/out.csv"
        #expect(AttnErrorText { try AtomicFile.checkWritable(path) } == "\(path): cannot write: directory '\(dir)/nope' does not exist")
        #expect(AttnErrorText { try AtomicFile.write("x", to: path) } == "\(path): cannot write: directory '\(dir)/nope' does not exist")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func directoryAsTargetOrParentIsRejected() throws {
        let dir = try IOTestSupport.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(AttnErrorText { try AtomicFile.checkWritable(dir) } == "\(dir): cannot write: it is a directory")
        try AtomicFile.write("f", to: dir + "/file")
        #expect(AttnErrorText { try AtomicFile.checkWritable(dir + "/file/x") } == "\(dir)/file/x: cannot write: '\(dir)/file' is not a directory")
        #expect(AttnErrorText { try AtomicFile.write("x", to: dir) } != nil)  // rename onto a directory fails
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["file"])  // temp file cleaned up
    }

    /// `-` goes through the same full-write loop as files, aimed at fd 1; the loop is tested on a
    /// pipe here (redirecting the test process's own stdout would race with the test runner's output).
    @Test func fullWriteLoopOnADescriptor() throws {
        try AtomicFile.checkWritable("-")
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let text = Array("to stdout\n".utf8)
        try text.withUnsafeBytes { b in try AtomicFile.writeAll(fd: fds[1], b, what: "pipe") }
        close(fds[1])
        var buf = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &buf, 64)
        close(fds[0])
        #expect(Array(buf[0..<max(n, 0)]) == text)
        #expect(AttnErrorText { try [UInt8(1)].withUnsafeBytes { b in try AtomicFile.writeAll(fd: -1, b, what: "bad fd") } }
                == "bad fd: write failed: Bad file descriptor")
    }
}
