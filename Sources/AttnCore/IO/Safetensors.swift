import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Safetensors format (https://github.com/huggingface/safetensors, README "Format"):
//   bytes 0..<8      N, the header length, unsigned 64-bit little-endian
//   bytes 8..<8+N    a UTF-8 JSON object: {"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets"}}
//   bytes 8+N..<end  the data region; data_offsets [begin, end) are relative to its start
// All data is little-endian, C order. This code assumes a little-endian host (x86-64, arm64).

/// Element types of safetensors tensors. Raw case values are the header spellings.
public enum SafetensorsDType: String, Sendable, CaseIterable, Equatable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// Position in the reference library's `Dtype` enum (Rust, derive(Ord)): its serializer writes
    /// tensors by descending rank, then by name — checked against safetensors 0.8.0 by
    /// Scripts/make_io_fixtures.py.
    var referenceRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .i16: return 9
        case .u16: return 10
        case .f16: return 11
        case .bf16: return 12
        case .i32: return 13
        case .u32: return 14
        case .f32: return 15
        case .f64: return 16
        case .i64: return 17
        case .u64: return 18
        }
    }

    public var isFloatingPoint: Bool { self == .f16 || self == .bf16 || self == .f32 || self == .f64 }
}

/// One tensor's header entry.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range inside the data region (not the file).
    public let dataOffsets: Range<Int>
    /// Product of `shape` (1 for a scalar `[]`).
    public let elementCount: Int
    public var byteCount: Int { dataOffsets.count }
}

/// Read-only bytes of a file mapped with `mmap`, or of an in-memory buffer; unmapped/freed in deinit.
final class SafetensorsStorage: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let count: Int
    private let mapped: Bool

    init(mappingFile path: String) throws(AttnError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw AttnError.input(file: path, item: nil, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw AttnError.input(file: path, item: nil, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw AttnError.input(file: path, item: nil, message: "not a regular file")
        }
        count = Int(st.st_size)
        mapped = count > 0
        if count == 0 { base = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw AttnError.input(file: path, item: nil, message: "cannot map into memory: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    init(copying bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        mapped = false
        if count == 0 { base = nil; return }
        let p = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        p.copyMemory(from: bytes.baseAddress!, byteCount: count)
        base = UnsafeRawPointer(p)
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        guard let base else { return }
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), count) } else { base.deallocate() }
    }
}

/// A validated safetensors file, memory-mapped: tensors are read on demand, the mapping lives as long
/// as this object. Every structural problem is found in `init` and reported as
/// `AttnError.input(file:item:message:)` naming the tensor (or "header").
///
/// Validation (matches the reference library, which also rejects gaps and trailing bytes):
/// the file holds the 8-byte length; the header length is ≤ `maxHeaderBytes` and inside the file;
/// the header is a JSON object with no duplicated keys; `__metadata__` maps strings to strings; each
/// tensor has exactly `dtype` (known), `shape` (non-negative integers, product without overflow) and
/// `data_offsets` ([begin, end], begin ≤ end ≤ data length); end − begin = elements × dtype size;
/// sorted by offset the tensors cover the data region exactly: no overlap, no gap, no trailing bytes.
public final class SafetensorsFile: @unchecked Sendable {
    /// The reference library's header limit (100 MB).
    public static let defaultMaxHeaderBytes = 100_000_000

    /// The path (or name) used in error messages.
    public let path: String
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Tensors in data order (ascending offsets).
    public let tensors: [SafetensorsTensorInfo]
    private let index: [String: Int]
    private let storage: SafetensorsStorage
    private let dataStart: Int

    /// Maps and validates the file at `path`.
    public convenience init(path: String, maxHeaderBytes: Int = SafetensorsFile.defaultMaxHeaderBytes) throws(AttnError) {
        try self.init(storage: SafetensorsStorage(mappingFile: path), name: path, maxHeaderBytes: maxHeaderBytes)
    }

    /// Validates an in-memory safetensors image (copied); `name` is used in error messages.
    public convenience init(bytes: [UInt8], name: String, maxHeaderBytes: Int = SafetensorsFile.defaultMaxHeaderBytes) throws(AttnError) {
        let storage = bytes.withUnsafeBytes { SafetensorsStorage(copying: $0) }
        try self.init(storage: storage, name: name, maxHeaderBytes: maxHeaderBytes)
    }

    private init(storage: SafetensorsStorage, name: String, maxHeaderBytes: Int) throws(AttnError) {
        self.storage = storage
        self.path = name
        func bad(_ item: String?, _ message: String) -> AttnError { .input(file: name, item: item, message: message) }
        let file = storage.buffer
        guard file.count >= 8 else {
            throw bad(nil, "file is \(file.count) bytes, too short for a safetensors file (8-byte header length expected)")
        }
        let n = file.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard n <= UInt64(maxHeaderBytes) else {
            throw bad("header", "header length \(n) exceeds the limit of \(maxHeaderBytes) bytes (corrupt or not a safetensors file)")
        }
        guard n <= UInt64(file.count - 8) else {
            throw bad("header", "header length \(n) runs past the end of the file (\(file.count) bytes; truncated or not a safetensors file)")
        }
        guard n >= 2 else { throw bad("header", "header length \(n) is too small for a JSON object") }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<(8 + Int(n))])
        dataStart = 8 + Int(n)
        let dataLength = file.count - dataStart

        let json: HeaderJSON
        do {
            json = try HeaderJSON.parse(headerBytes)
        } catch {
            throw bad("header", "invalid JSON at header byte \(error.offset): \(error.message)")
        }
        guard case let .object(memberKeys, memberValues) = json else {
            throw bad("header", "expected a JSON object, found \(json.kindName)")
        }
        var metadata: [String: String] = [:]
        var infos: [SafetensorsTensorInfo] = []
        infos.reserveCapacity(memberKeys.count)
        for (key, value) in zip(memberKeys, memberValues) {
            if key == "__metadata__" {
                guard case let .object(entryKeys, entryValues) = value else {
                    throw bad("__metadata__", "expected an object of string values, found \(value.kindName)")
                }
                for (mk, mv) in zip(entryKeys, entryValues) {
                    guard case let .string(s) = mv else {
                        throw bad("__metadata__.\(mk)", "expected a string value, found \(mv.kindName)")
                    }
                    metadata[mk] = s
                }
                continue
            }
            infos.append(try Self.parseTensor(key, value, dataLength: dataLength, bad: bad))
        }
        // Coverage: sorted by (begin, end) the ranges must tile [0, dataLength).
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var covered = 0
        var previous: String?
        for t in infos {
            if t.dataOffsets.lowerBound < covered {
                throw bad(t.name, "data_offsets [\(t.dataOffsets.lowerBound), \(t.dataOffsets.upperBound)] overlap tensor '\(previous ?? "")' which ends at \(covered)")
            }
            if t.dataOffsets.lowerBound > covered {
                throw bad(t.name, "data_offsets begin at \(t.dataOffsets.lowerBound) but the previous tensor ends at \(covered): \(t.dataOffsets.lowerBound - covered) unused bytes (safetensors requires contiguous data)")
            }
            covered = t.dataOffsets.upperBound
            previous = t.name
        }
        if covered != dataLength {
            throw bad(nil, "data region is \(dataLength) bytes but tensors cover only \(covered) (\(dataLength - covered) trailing bytes)")
        }
        self.metadata = metadata
        self.tensors = infos
        var index: [String: Int] = [:]
        for (i, t) in infos.enumerated() { index[t.name] = i }
        self.index = index
    }

    private static func parseTensor(_ name: String, _ value: HeaderJSON, dataLength: Int,
                                    bad: (String?, String) -> AttnError) throws(AttnError) -> SafetensorsTensorInfo {
        guard case let .object(fieldKeys, fieldValues) = value else {
            throw bad(name, "expected an object with dtype, shape and data_offsets, found \(value.kindName)")
        }
        var dtype: SafetensorsDType?
        var shape: [Int]?
        var offsets: [Int]?
        func ints(_ field: String, _ v: HeaderJSON) throws(AttnError) -> [Int] {
            guard case let .array(items) = v else { throw bad(name, "\(field): expected an array of integers, found \(v.kindName)") }
            var out: [Int] = []
            for item in items {
                guard case let .integer(x) = item else { throw bad(name, "\(field): expected non-negative integers, found \(item.kindName)") }
                guard x >= 0 else { throw bad(name, "\(field): negative value \(x)") }
                out.append(Int(x))
            }
            return out
        }
        for (k, v) in zip(fieldKeys, fieldValues) {
            switch k {
            case "dtype":
                guard case let .string(s) = v else { throw bad(name, "dtype: expected a string, found \(v.kindName)") }
                guard let d = SafetensorsDType(rawValue: s) else {
                    throw bad(name, "unsupported dtype \"\(s)\" (supported: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                dtype = d
            case "shape": shape = try ints("shape", v)
            case "data_offsets": offsets = try ints("data_offsets", v)
            default: throw bad(name, "unknown field \"\(k)\" (expected dtype, shape, data_offsets)")
            }
        }
        guard let dtype else { throw bad(name, "missing field \"dtype\"") }
        guard let shape else { throw bad(name, "missing field \"shape\"") }
        guard let offsets else { throw bad(name, "missing field \"data_offsets\"") }
        guard offsets.count == 2 else { throw bad(name, "data_offsets: expected [begin, end], found \(offsets.count) values") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw bad(name, "data_offsets [\(begin), \(end)]: begin is after end") }
        guard end <= dataLength else {
            throw bad(name, "data_offsets [\(begin), \(end)] run past the end of the data region (\(dataLength) bytes; file truncated?)")
        }
        var elements = 1
        for d in shape {
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            guard !o else { throw bad(name, "shape \(shape) has too many elements (overflow)") }
            elements = p
        }
        let (bytes, o) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !o, bytes == end - begin else {
            throw bad(name, "\(dtype.rawValue) shape \(shape) needs \(o ? "more than Int.max" : String(bytes)) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end, elementCount: elements)
    }

    // MARK: Access

    /// Tensor names in data order.
    public var names: [String] { tensors.map(\.name) }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The header entry of `name`, or nil.
    public func tensorInfo(_ name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    /// The header entry of `name`; a missing tensor is an input error naming it.
    public func info(_ name: String) throws(AttnError) -> SafetensorsTensorInfo {
        guard let i = index[name] else { throw AttnError.input(file: path, item: name, message: "tensor not found") }
        return tensors[i]
    }

    /// Calls `body` with the tensor's raw little-endian bytes (valid only inside `body`).
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let t = try info(name)
        let all = storage.buffer
        let slice = UnsafeRawBufferPointer(rebasing: all[(dataStart + t.dataOffsets.lowerBound)..<(dataStart + t.dataOffsets.upperBound)])
        return try body(slice)
    }

    /// A copy of the tensor's raw bytes.
    public func rawBytes(_ name: String) throws(AttnError) -> [UInt8] {
        let t = try info(name)
        return Array(storage.buffer[(dataStart + t.dataOffsets.lowerBound)..<(dataStart + t.dataOffsets.upperBound)])
    }

    /// Converts any floating-point tensor (F32, F16, BF16, F64) to Float into `dst` (count must equal
    /// the element count). F64 → Float rounds to nearest.
    public func readFloats(_ name: String, into dst: UnsafeMutableBufferPointer<Float>) throws(AttnError) {
        let t = try info(name)
        guard dst.count == t.elementCount else {
            throw AttnError.input(file: path, item: name, message: "expected \(dst.count) elements, tensor has \(t.elementCount) (shape \(t.shape))")
        }
        let src = UnsafeRawBufferPointer(rebasing: storage.buffer[(dataStart + t.dataOffsets.lowerBound)..<(dataStart + t.dataOffsets.upperBound)])
        let n = t.elementCount
        switch t.dtype {
        case .f32:
            if n > 0 { UnsafeMutableRawPointer(dst.baseAddress!).copyMemory(from: src.baseAddress!, byteCount: n * 4) }
        case .f16:
            for i in 0..<n { dst[i] = HalfFloat.f16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<n { dst[i] = HalfFloat.bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .f64:
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        default:
            throw AttnError.input(file: path, item: name, message: "expected a floating-point tensor (F32, F16, BF16, F64), found \(t.dtype.rawValue)")
        }
    }

    /// Any floating-point tensor as `[Float]` (see `readFloats`).
    public func floats(_ name: String) throws(AttnError) -> [Float] {
        let t = try info(name)
        var out = [Float](repeating: 0, count: t.elementCount)
        try out.withUnsafeMutableBufferPointer { (b) throws(AttnError) in try readFloats(name, into: b) }
        return out
    }

    /// An I32 tensor (I8/I16/U8/U16 widen exactly).
    public func int32s(_ name: String) throws(AttnError) -> [Int32] {
        let t = try info(name)
        let src = UnsafeRawBufferPointer(rebasing: storage.buffer[(dataStart + t.dataOffsets.lowerBound)..<(dataStart + t.dataOffsets.upperBound)])
        let n = t.elementCount
        switch t.dtype {
        case .i32: return (0..<n).map { src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
        case .i16: return (0..<n).map { Int32(src.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) }
        case .u16: return (0..<n).map { Int32(src.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        case .i8: return (0..<n).map { Int32(src.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8: return (0..<n).map { Int32(src[$0]) }
        default:
            throw AttnError.input(file: path, item: name, message: "expected an integer tensor (I32 or narrower), found \(t.dtype.rawValue)")
        }
    }

    /// An I64 tensor (I32 and narrower integer types widen exactly).
    public func int64s(_ name: String) throws(AttnError) -> [Int64] {
        let t = try info(name)
        if t.dtype == .i64 {
            let src = UnsafeRawBufferPointer(rebasing: storage.buffer[(dataStart + t.dataOffsets.lowerBound)..<(dataStart + t.dataOffsets.upperBound)])
            return (0..<t.elementCount).map { src.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }
        }
        guard [.i32, .i16, .u16, .i8, .u8].contains(t.dtype) else {
            throw AttnError.input(file: path, item: name, message: "expected an integer tensor (I64 or narrower), found \(t.dtype.rawValue)")
        }
        return try int32s(name).map { Int64($0) }
    }
}

/// Builds a safetensors file the way the reference library (`safetensors.serialize`) does: tensors
/// ordered by descending dtype (the reference enum order, i.e. wider types first, which keeps every
/// tensor aligned to its element size) then by name; data packed with no gaps; the JSON header
/// `{"__metadata__":{…},"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]},…}` without spaces,
/// padded with spaces to a multiple of 8 bytes. Metadata keys are written sorted (the reference
/// library uses a hash map, so its order is arbitrary); `__metadata__` is omitted when empty.
public struct SafetensorsWriter: Sendable {
    struct Entry: Sendable {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let bytes: [UInt8]
    }

    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var names = Set<String>()
    /// Name used in error messages.
    public let label: String

    public init(metadata: [String: String] = [:], label: String = "safetensors writer") {
        self.metadata = metadata
        self.label = label
    }

    /// Adds a tensor from raw little-endian bytes; `bytes.count` must equal elements × dtype size.
    public mutating func add(_ name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) throws(AttnError) {
        func bad(_ m: String) -> AttnError { .input(file: label, item: name.isEmpty ? "\"\"" : name, message: m) }
        guard !name.isEmpty, name != "__metadata__" else { throw bad("invalid tensor name") }
        guard !names.contains(name) else { throw bad("duplicated tensor name") }
        var elements = 1
        for d in shape {
            guard d >= 0 else { throw bad("negative dimension in shape \(shape)") }
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            guard !o else { throw bad("shape \(shape) overflows") }
            elements = p
        }
        guard elements.multipliedReportingOverflow(by: dtype.byteSize) == (bytes.count, false) else {
            throw bad("\(dtype.rawValue) shape \(shape) needs \(elements) × \(dtype.byteSize) bytes, got \(bytes.count)")
        }
        names.insert(name)
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds Float data stored as F32, F16 or BF16 (rounded to nearest even).
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: SafetensorsDType = .f32) throws(AttnError) {
        let bytes: [UInt8]
        switch dtype {
        case .f32: bytes = floats.withUnsafeBytes { Array($0) }
        case .f16: bytes = HalfFloat.floatToF16(floats).withUnsafeBytes { Array($0) }
        case .bf16: bytes = HalfFloat.floatToBF16(floats).withUnsafeBytes { Array($0) }
        case .f64: bytes = floats.map { Double($0) }.withUnsafeBytes { Array($0) }
        default:
            throw AttnError.input(file: label, item: name, message: "cannot store floats as \(dtype.rawValue)")
        }
        try add(name, dtype: dtype, shape: shape, bytes: bytes)
    }

    public mutating func add(_ name: String, shape: [Int], int32s: [Int32]) throws(AttnError) {
        try add(name, dtype: .i32, shape: shape, bytes: int32s.withUnsafeBytes { Array($0) })
    }

    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) throws(AttnError) {
        try add(name, dtype: .i64, shape: shape, bytes: int64s.withUnsafeBytes { Array($0) })
    }

    /// Number of tensors added.
    public var count: Int { entries.count }

    /// The complete file image.
    public func serialize() -> [UInt8] {
        let ordered = entries.sorted {
            $0.dtype.referenceRank != $1.dtype.referenceRank ? $0.dtype.referenceRank > $1.dtype.referenceRank : $0.name < $1.name
        }
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { HeaderJSON.quoted($0) + ":" + HeaderJSON.quoted(metadata[$0]!) }.joined(separator: ",")
            header += "}"
            first = false
        }
        var offset = 0
        for e in ordered {
            if !first { header += "," }
            first = false
            header += HeaderJSON.quoted(e.name)
            header += ":{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}"
            offset += e.bytes.count
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        headerBytes.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8))
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for e in ordered { out.append(contentsOf: e.bytes) }
        return out
    }

    /// Writes the file atomically (temporary file in the same directory, fsync, rename).
    public func write(to path: String) throws(AttnError) {
        try AtomicFile.write(serialize(), to: path)
    }
}
