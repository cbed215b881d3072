import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files so that a reader never sees a half-written one: the bytes go to a temporary
/// file in the same directory (`.<name>.tmp-<pid>-<random>`), are `fsync`ed, and the temporary file is
/// `rename`d over the destination (atomic on POSIX file systems); on any failure the temporary file is
/// removed and the destination is left untouched. The path `-` means standard output (text outputs).
public enum AtomicFile {
    /// Checks, before any work starts, that `path` could be written: `-` always can; otherwise its
    /// directory must exist, be a directory and be writable, and `path` must not be a directory.
    /// Throws `AttnError.runtime` naming the path.
    public static func checkWritable(_ path: String) throws(AttnError) {
        if path == "-" { return }
        guard !path.isEmpty else { throw AttnError.runtime("output path is empty") }
        let dir = directory(of: path)
        var st = stat()
        guard stat(dir, &st) == 0 else {
            throw AttnError.runtime("\(path): cannot write: directory '\(dir)' does not exist")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw AttnError.runtime("\(path): cannot write: '\(dir)' is not a directory")
        }
        guard access(dir, W_OK) == 0 else {
            throw AttnError.runtime("\(path): cannot write: directory '\(dir)' is not writable")
        }
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw AttnError.runtime("\(path): cannot write: it is a directory")
        }
    }

    /// Atomically replaces `path` with `bytes`. `-` writes to standard output.
    public static func write(_ bytes: [UInt8], to path: String) throws(AttnError) {
        let result = bytes.withUnsafeBytes { b in Result { () throws(AttnError) in try write(b, to: path) } }
        try result.get()
    }

    /// Atomically replaces `path` with `data`. `-` writes to standard output.
    public static func write(_ data: Data, to path: String) throws(AttnError) {
        try write([UInt8](data), to: path)
    }

    /// Atomically replaces `path` with the UTF-8 text. `-` writes to standard output.
    public static func write(_ text: String, to path: String) throws(AttnError) {
        try write(Array(text.utf8), to: path)
    }

    /// Atomically replaces `path` with the bytes. `-` writes to standard output.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(AttnError) {
        if path == "-" {
            fflush(nil)  // anything printed earlier through stdio goes first
            try writeAll(fd: STDOUT_FILENO, bytes, what: "standard output")
            return
        }
        try checkWritable(path)
        let dir = directory(of: path)
        let base = (path as NSString).lastPathComponent
        let tmp = (dir as NSString).appendingPathComponent(".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw AttnError.runtime("\(path): cannot create temporary file '\(tmp)': \(String(cString: strerror(errno)))")
        }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do throws(AttnError) {
            try writeAll(fd: fd, bytes, what: path)
            guard fsync(fd) == 0 else {
                let e = errno
                close(fd)
                throw AttnError.runtime("\(path): cannot flush to disk: \(String(cString: strerror(e)))")
            }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else {
            throw AttnError.runtime("\(path): cannot close: \(String(cString: strerror(errno)))")
        }
        guard rename(tmp, path) == 0 else {
            throw AttnError.runtime("\(path): cannot rename temporary file into place: \(String(cString: strerror(errno)))")
        }
        ok = true
        // Make the rename itself durable (best effort: some file systems refuse fsync on directories).
        let dfd = open(dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, what: String) throws(AttnError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc_write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw AttnError.runtime("\(what): write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// The directory part of `path` ("." when there is none).
    static func directory(of path: String) -> String {
        let d = (path as NSString).deletingLastPathComponent
        return d.isEmpty ? "." : d
    }
}

#if canImport(Glibc)
@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(fd, p, n) }
#elseif canImport(Darwin)
@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
#endif
