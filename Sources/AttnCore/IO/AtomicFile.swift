import Foundation

/// Writing output files so that an interrupted run never leaves a half-written file: data goes to a
/// temporary file in the destination's directory, is flushed to disk, then renamed over the target.
public enum AtomicFile {
    /// Checks, before any work starts, that `path` can be written: its directory exists and is
    /// writable, and an existing file at the path is a regular file (not a directory, device, FIFO or
    /// socket). `-` (stdout) always passes.
    public static func checkWritable(_ path: String, flag: String? = nil) throws(AttnError) {
        if path == "-" { return }
        if path.isEmpty { throw location(path, flag, "expected a file path, got an empty string") }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            // Renaming over a device, FIFO or socket would replace the node itself.
            if st.st_mode & S_IFMT == S_IFDIR { throw location(path, flag, "is a directory, expected a file path") }
            throw location(path, flag, "is \(OutputGuard.kindName(st.st_mode)), not a regular file; outputs are only written to regular files (or '-' for standard output)")
        }
        let dir = directory(of: path)
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw location(path, flag, "directory '\(dir)' does not exist")
        }
        guard access(dir, W_OK) == 0 else {
            throw location(path, flag, "directory '\(dir)' is not writable")
        }
    }

    private static func location(_ path: String, _ flag: String?, _ message: String) -> AttnError {
        if let flag { return .usage(flag: flag, message: "'\(path)': \(message)") }
        return .runtime("\(path): \(message)")
    }

    static func directory(of path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
    }

    /// Writes `data` to `path` atomically; `-` writes to stdout.
    public static func write(_ data: Data, to path: String) throws(AttnError) {
        if path == "-" {
            // A plain write loop: FileHandle.write traps on errors such as a closed pipe.
            fflush(nil)
            let failure = data.withUnsafeBytes { raw -> Int32? in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(STDOUT_FILENO, raw.baseAddress! + done, raw.count - done)
                    if n < 0 { if errno == EINTR { continue }; return errno }
                    done += n
                }
                return nil
            }
            if let e = failure { throw AttnError.runtime("standard output: write failed (\(systemErrorText(e)))") }
            return
        }
        try checkWritable(path)
        let dir = directory(of: path)
        let base = (path as NSString).lastPathComponent
        var template = Array("\(dir)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw AttnError.runtime("\(path): cannot create a temporary file in '\(dir)' (\(systemErrorText(errno)))") }
        let tmp = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        let written = data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
        let err = errno
        guard written else {
            close(fd)
            throw AttnError.runtime("\(path): write failed (\(systemErrorText(err)))")
        }
        guard fsync(fd) == 0 else {
            let e = errno
            close(fd)
            throw AttnError.runtime("\(path): fsync failed (\(systemErrorText(e)))")
        }
        close(fd)
        // mkstemp creates 0600; give the file the usual permissions (0644 less the umask).
        let mask = umask(0)
        umask(mask)
        chmod(tmp, 0o666 & ~mask)
        guard rename(tmp, path) == 0 else {
            throw AttnError.runtime("\(path): cannot replace the file (\(systemErrorText(errno)))")
        }
        ok = true
    }

    public static func write(_ text: String, to path: String) throws(AttnError) {
        try write(Data(text.utf8), to: path)
    }
}

/// The C library's text for an errno value.
public func systemErrorText(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "error \(code)" }
    return String(validatingCString: p) ?? "error \(code)"
}
