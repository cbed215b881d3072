import Foundation

/// The checks every command that writes a file makes before any work, so that no input and no
/// device is ever overwritten, and two runs cannot write the same output at once:
///
/// - the output's directory exists and is writable (`AtomicFile.checkWritable`);
/// - an existing output is a regular file (not a device, FIFO, socket or directory);
/// - the output is not any of the inputs: compared by device and inode (`stat`, symlinks followed),
///   so another spelling, a `..` path, a symlink or a hard link of an input is caught;
/// - the output is not one this process already claimed under another flag (`--out` and
///   `--dram-trace` naming one file): every claim is remembered by its resolved path (symlinks
///   followed, also for a file not written yet);
/// - an advisory lock (`flock`) on `<output>.lock`, held until the process exits, so a second run
///   writing the same output fails at once with a clear error. The lock file is removed at exit.
///
/// `-` (standard output) passes every check. A new command calls it in one line:
/// `try OutputGuard.check(output: out, flag: "--out", inputs: [config, trace])`.
public enum OutputGuard {
    /// Refuses `output` (a usage error naming `flag`) if it is not a writable regular-file path,
    /// if it is the same file as one of `inputs` (missing inputs are ignored), or if another
    /// process holds its lock; otherwise takes the lock for the life of the process.
    public static func check(output: String, flag: String, inputs: [String], lock: Bool = true) throws(AttnError) {
        if output == "-" { return }
        try AtomicFile.checkWritable(output, flag: flag)
        if let out = identity(output) {
            // A directory input (a BERT model folder) stands for the files in it.
            var files: [String] = []
            for input in inputs {
                files.append(input)
                var st = stat()
                if stat(input, &st) == 0, st.st_mode & S_IFMT == S_IFDIR,
                   let names = try? FileManager.default.contentsOfDirectory(atPath: input) {
                    files += names.map { (input as NSString).appendingPathComponent($0) }
                }
            }
            for input in files {
                if let id = identity(input), id == out {
                    throw AttnError.usage(flag: flag, message: "'\(output)' is the input file '\(input)'; writing it would destroy the input: choose another output path")
                }
            }
        }
        try claim(output, flag: flag)
        if lock { try takeLock(output, flag: flag) }
    }

    // MARK: - Claims

    /// Every output this process has claimed: resolved path → the flag that claimed it and its spelling.
    nonisolated(unsafe) private static var claims: [String: (flag: String, output: String)] = [:]

    /// Records `output` as written by `flag`; refuses it if another flag already claimed the same
    /// file. The same flag may check its output again (a job's frame and its command both do).
    static func claim(_ output: String, flag: String) throws(AttnError) {
        let key = resolvedPath(output)
        heldLock.lock()
        defer { heldLock.unlock() }
        if let first = claims[key], first.flag != flag {
            throw AttnError.usage(flag: flag, message: "'\(output)' is also the \(first.flag) file '\(first.output)': give each output its own file")
        }
        claims[key] = (flag, output)
    }

    /// `path` absolute with every symlink resolved; for a file not yet written, its directory's
    /// (and a symlink to it followed).
    static func resolvedPath(_ path: String, depth: Int = 0) -> String {
        func real(_ p: String) -> String? {
            guard let r = realpath(p, nil) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        if let r = real(path) { return r }
        let ns = path as NSString
        if depth < 16, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
            return resolvedPath(target.hasPrefix("/") ? target : (ns.deletingLastPathComponent as NSString).appendingPathComponent(target),
                                depth: depth + 1)
        }
        let dir = ns.deletingLastPathComponent.isEmpty ? "." : ns.deletingLastPathComponent
        if let r = real(dir) { return (r as NSString).appendingPathComponent(ns.lastPathComponent) }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Device and inode of `path` (symlinks followed), nil if it does not exist.
    static func identity(_ path: String) -> [UInt64]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return [UInt64(st.st_dev), UInt64(st.st_ino)]
    }

    /// What kind of file `mode` describes, in plain words.
    public static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    // MARK: - Locks

    nonisolated(unsafe) private static var held: [String: Int32] = [:]
    private static let heldLock = NSLock()

    /// The lock file of `output`.
    public static func lockPath(_ output: String) -> String { output + ".lock" }

    private static func takeLock(_ output: String, flag: String) throws(AttnError) {
        let path = lockPath(output)
        heldLock.lock()
        defer { heldLock.unlock() }
        if held[path] != nil { return }
        // Open, lock, then check the file is still the one at `path` (a finishing run unlinks it).
        for _ in 0..<8 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw AttnError.usage(flag: flag, message: "'\(output)': cannot create the lock file '\(path)' (\(systemErrorText(errno)))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let e = errno
                close(fd)
                if e == EWOULDBLOCK {
                    throw AttnError.usage(flag: flag, message: "'\(output)' is being written by another attnsim run (it holds '\(path)'); wait for it to finish or choose another output path")
                }
                throw AttnError.usage(flag: flag, message: "'\(output)': cannot lock '\(path)' (\(systemErrorText(e)))")
            }
            var a = stat(), b = stat()
            if fstat(fd, &a) == 0, stat(path, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino {
                if held.isEmpty { atexit { OutputGuard.releaseAll() } }
                held[path] = fd
                return
            }
            close(fd)
        }
        throw AttnError.usage(flag: flag, message: "'\(output)': the lock file '\(path)' keeps changing; is another run starting and stopping?")
    }

    /// Removes and unlocks every lock this process holds (runs at exit).
    public static func releaseAll() {
        heldLock.lock()
        defer { heldLock.unlock() }
        for (path, fd) in held {
            unlink(path)
            close(fd)
        }
        held = [:]
    }
}
