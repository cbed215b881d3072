import Foundation

/// Reading input files with errors in plain words: a missing file, a directory, a device, FIFO or
/// socket (which would block or never end), or an unreadable file is an input error naming the file
/// and what it should be — never a Foundation error domain.
public enum InputFile {
    /// Checks that `path` is an existing, readable regular file (symlinks followed).
    public static func checkRegular(_ path: String, kind: String) throws(AttnError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let e = errno
            throw AttnError.input(file: path, item: nil, message: e == ENOENT ? "no such file (expected \(kind))" : "cannot read \(kind) (\(systemErrorText(e)))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw AttnError.input(file: path, item: nil, message: "is \(OutputGuard.kindName(st.st_mode)), expected \(kind) (a regular file)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AttnError.input(file: path, item: nil, message: "cannot read \(kind) (\(systemErrorText(errno)))") }
        close(fd)
    }

    /// The whole file (memory-mapped when `mapped`), after `checkRegular`.
    public static func read(_ path: String, kind: String, mapped: Bool = false) throws(AttnError) -> Data {
        try checkRegular(path, kind: kind)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: mapped ? .alwaysMapped : [])
        } catch {
            throw AttnError.input(file: path, item: nil, message: "cannot read \(kind) (\(plainReason(error)))")
        }
    }

    /// The file as UTF-8 text: a NUL byte or an invalid UTF-8 sequence (a binary file) is an error
    /// naming the line where it occurs.
    public static func readText(_ path: String, kind: String) throws(AttnError) -> String {
        let bytes = [UInt8](try read(path, kind: kind))
        if let nul = bytes.firstIndex(of: 0) {
            throw AttnError.input(file: path, item: "line \(lineNumber(bytes, nul))", message: "contains a NUL byte: \(kind) must be UTF-8 text, this looks like a binary file")
        }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var good = 0
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let u): good += UTF8.width(u)
            case .emptyInput: break loop
            case .error:
                throw AttnError.input(file: path, item: "line \(lineNumber(bytes, good))", message: "invalid UTF-8 at byte \(good): \(kind) must be UTF-8 text, this looks like a binary file")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func lineNumber(_ bytes: [UInt8], _ offset: Int) -> Int {
        var n = 1
        for i in 0..<offset where bytes[i] == 0x0A { n += 1 }
        return n
    }

    /// An OS error in plain words: the C library's text for its errno, not a Foundation domain.
    public static func plainReason(_ error: Error) -> String {
        let ns = error as NSError
        if let under = ns.userInfo[NSUnderlyingErrorKey] as? NSError, under.domain == NSPOSIXErrorDomain {
            return systemErrorText(Int32(under.code))
        }
        if ns.domain == NSPOSIXErrorDomain { return systemErrorText(Int32(ns.code)) }
        switch ns.code {
        case NSFileReadNoSuchFileError: return systemErrorText(ENOENT)
        case NSFileReadNoPermissionError: return systemErrorText(EACCES)
        case NSFileReadTooLargeError: return "the file is too large"
        default: return "operating-system error \(ns.code)"
        }
    }
}

/// Memory-maps an input file; a failure is an input error naming the file and what it should be.
public func mappedFile(_ path: String, kind: String) throws(AttnError) -> Data {
    try InputFile.read(path, kind: kind, mapped: true)
}
