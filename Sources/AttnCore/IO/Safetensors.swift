import Foundation

/// Element types of safetensors files (the names are the format's own spellings).
public enum TensorDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    public var byteWidth: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool { self == .f64 || self == .f32 || self == .f16 || self == .bf16 }

    /// Position in the reference library's `Dtype` enum (Rust, `derive(Ord)`: BOOL, …, U8, I8, …, I16,
    /// U16, F16, BF16, I32, U32, F32, F64, I64, U64). Its serializer writes tensors by descending
    /// rank, then by name — checked against safetensors 0.8.0 (Tests/Fixtures/io/writer_reference).
    var referenceRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .i16: return 9
        case .f16: return 11
        case .bf16: return 12
        case .i32: return 13
        case .f32: return 15
        case .f64: return 16
        case .i64: return 17
        }
    }
}

/// Where one tensor lives in a safetensors file.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file opened read-only and memory-mapped: an 8-byte little-endian header length N,
/// N bytes of JSON header (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
/// {string: string}}`), then the data region the offsets point into.
///
/// Opening validates everything the format promises, so reading a tensor later cannot fail on
/// layout: header length inside the file and below `maxHeaderBytes`, a JSON object, known dtypes,
/// non-negative shapes whose element count × width equals the byte range, offsets inside the data
/// region, and tensors that tile the data region exactly (no overlap, no hole) as the reference
/// implementation requires.
public final class SafetensorsFile: @unchecked Sendable {
    /// Header size limit, as in the reference implementation (100 MB).
    public static let maxHeaderBytes = 100_000_000

    public let path: String
    public let metadata: [String: String]
    /// Tensors in file order (by offset).
    public let tensors: [TensorInfo]
    private let index: [String: Int]
    private let data: Data

    /// Opens and validates `path` (memory-mapped).
    public convenience init(path: String) throws(AttnError) {
        let data = try mappedFile(path, kind: "a safetensors file")
        try self.init(data: data, path: path)
    }

    /// Validates an in-memory file; `path` is used in error messages.
    public init(data: Data, path: String) throws(AttnError) {
        self.path = path
        self.data = data
        func fail(_ item: String?, _ message: String) -> AttnError { .input(file: path, item: item, message: message) }
        guard data.count >= 8 else {
            throw fail(nil, "not a safetensors file: \(data.count) bytes, expected at least the 8-byte header length")
        }
        let n = data.withUnsafeBytes { raw in UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(Self.maxHeaderBytes) else {
            throw fail(nil, "header length \(n) exceeds the \(Self.maxHeaderBytes)-byte limit (not a safetensors file?)")
        }
        guard n <= UInt64(data.count - 8) else {
            throw fail(nil, "header length \(n) runs past the end of the \(data.count)-byte file (truncated?)")
        }
        let headerLength = Int(n)
        guard headerLength >= 2, data[data.startIndex + 8] == UInt8(ascii: "{") else {
            throw fail(nil, "header is not a JSON object (expected '{' at byte 8)")
        }
        let headerData = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + headerLength)
        // Strict syntax check first: JSONSerialization keeps the last of duplicated keys silently,
        // so a header naming a tensor twice would otherwise lose one of them without a word.
        let strict = headerData.withUnsafeBytes { raw in Result { () throws(HeaderJSONError) in try HeaderJSON.parse(raw) } }
        if case let .failure(e) = strict {
            if e.message.hasPrefix("duplicated key") {
                throw fail(nil, "header has a \(e.message) at byte \(e.offset) (tensor names and metadata keys must be unique)")
            }
            throw fail(nil, "header is not valid JSON (\(e.message) at byte \(e.offset))")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData, options: [])
        } catch {
            throw fail(nil, "header is not valid JSON (\(Self.reason(error)))")
        }
        guard let object = json as? [String: Any] else { throw fail(nil, "header is not a JSON object") }

        var metadata: [String: String] = [:]
        if let meta = object["__metadata__"] {
            guard let m = meta as? [String: Any] else { throw fail("__metadata__", "expected an object of strings") }
            for (k, v) in m {
                guard let s = v as? String else { throw fail("__metadata__.\(k)", "expected a string value") }
                metadata[k] = s
            }
        }
        self.metadata = metadata

        let dataStart = 8 + headerLength
        let dataLength = data.count - dataStart
        var infos: [(info: TensorInfo, begin: Int, end: Int)] = []
        for (name, value) in object where name != "__metadata__" {
            infos.append(try Self.entry(name, value, dataStart: dataStart, dataLength: dataLength, path: path))
        }
        infos.sort { ($0.begin, $0.end, $0.info.name) < ($1.begin, $1.end, $1.info.name) }
        var cursor = 0
        for t in infos {
            if t.begin < cursor { throw fail(t.info.name, "data_offsets [\(t.begin), \(t.end)] overlap the previous tensor (ends at \(cursor))") }
            if t.begin > cursor { throw fail(t.info.name, "hole in the data region: bytes [\(cursor), \(t.begin)) belong to no tensor") }
            cursor = t.end
        }
        guard cursor == dataLength else {
            throw fail(nil, "data region has \(dataLength) bytes but the tensors cover \(cursor)")
        }
        self.tensors = infos.map(\.info)
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// One tensor's header entry, checked: dtype, shape, and data offsets that fit the data region
    /// and hold exactly the shape's bytes.
    private static func entry(_ name: String, _ value: Any, dataStart: Int, dataLength: Int,
                              path: String) throws(AttnError) -> (info: TensorInfo, begin: Int, end: Int) {
        func fail(_ item: String?, _ message: String) -> AttnError { .input(file: path, item: item, message: message) }
        guard let t = value as? [String: Any] else { throw fail(name, "expected an object with dtype, shape, data_offsets") }
        for key in t.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw fail(name, "unexpected key '\(key)' (expected dtype, shape, data_offsets)")
        }
        guard let dtypeName = t["dtype"] as? String else { throw fail(name, "missing or non-string dtype") }
        guard let dtype = TensorDType(rawValue: dtypeName) else {
            throw fail(name, "unsupported dtype '\(dtypeName)' (supported: \(TensorDType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let shapeList = t["shape"] as? [Any] else { throw fail(name, "missing or non-list shape") }
        var shape: [Int] = []
        var elements = 1
        for dim in shapeList {
            guard let d = Self.integer(dim), d >= 0 else { throw fail(name, "shape \(shapeList) must hold non-negative integers") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Int(Int32.max) * 64 else { throw fail(name, "shape \(shapeList) is too large") }
            elements = product
            shape.append(d)
        }
        guard let offsets = t["data_offsets"] as? [Any], offsets.count == 2,
              let begin = Self.integer(offsets[0]), let end = Self.integer(offsets[1]) else {
            throw fail(name, "data_offsets must be a list of two integers")
        }
        guard begin >= 0, begin <= end else { throw fail(name, "data_offsets [\(begin), \(end)] are not ordered") }
        guard end <= dataLength else {
            throw fail(name, "data_offsets [\(begin), \(end)] run past the \(dataLength)-byte data region (truncated file?)")
        }
        let expected = elements * dtype.byteWidth
        guard end - begin == expected else {
            throw fail(name, "\(dtype.rawValue) \(shape) needs \(expected) bytes, data_offsets give \(end - begin)")
        }
        return (TensorInfo(name: name, dtype: dtype, shape: shape, fileOffset: dataStart + begin, byteCount: expected), begin, end)
    }

    private static func integer(_ any: Any) -> Int? {
        guard let n = any as? NSNumber else { return nil }
        // JSON booleans arrive as NSNumber too; reject them and non-integral numbers.
        if String(describing: type(of: any)).contains("Boolean") { return nil }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return n.intValue
    }

    private static func reason(_ error: Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "rejected by the JSON parser"
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func info(_ name: String) throws(AttnError) -> TensorInfo {
        guard let i = index[name] else { throw AttnError.input(file: path, item: name, message: "tensor not found") }
        return tensors[i]
    }

    /// Calls `body` with the tensor's raw little-endian bytes.
    public func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let t = try info(name)
        return try data.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[t.fileOffset ..< t.fileOffset + t.byteCount]))
        }
    }

    /// The tensor converted to Float (any floating-point dtype).
    public func floats(_ name: String) throws(AttnError) -> [Float] {
        let t = try info(name)
        var out = [Float](repeating: 0, count: t.elementCount)
        try out.withUnsafeMutableBufferPointer { (buffer) throws(AttnError) in try floats(name, into: buffer) }
        return out
    }

    /// Converts the tensor into `out` (which must hold exactly its element count).
    public func floats(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws(AttnError) {
        let t = try info(name)
        guard t.dtype.isFloatingPoint else {
            throw AttnError.input(file: path, item: name, message: "expected a floating-point tensor (F32/F16/BF16/F64), found \(t.dtype.rawValue)")
        }
        precondition(out.count == t.elementCount, "buffer of \(out.count) for \(t.elementCount) elements")
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + t.fileOffset
            let n = t.elementCount
            switch t.dtype {
            case .f32:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f16:
                for i in 0..<n { out[i] = HalfFloat.f16ToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<n { out[i] = HalfFloat.bf16ToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .f64:
                for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            default:
                break
            }
        }
    }

    /// The tensor as Int64 (any integer dtype, or BOOL as 0/1).
    public func integers(_ name: String) throws(AttnError) -> [Int64] {
        let t = try info(name)
        let n = t.elementCount
        let values = data.withUnsafeBytes { raw -> [Int64]? in
            let base = raw.baseAddress! + t.fileOffset
            switch t.dtype {
            case .i64: return (0..<n).map { Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            case .i32: return (0..<n).map { Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .i16: return (0..<n).map { Int64(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
            case .i8: return (0..<n).map { Int64(base.loadUnaligned(fromByteOffset: $0, as: Int8.self)) }
            case .u8, .bool: return (0..<n).map { Int64(base.loadUnaligned(fromByteOffset: $0, as: UInt8.self)) }
            default: return nil
            }
        }
        guard let values else {
            throw AttnError.input(file: path, item: name, message: "expected an integer tensor, found \(t.dtype.rawValue)")
        }
        return values
    }
}

/// Builds a safetensors file in memory and writes it atomically. Tensors are laid out in the
/// reference implementation's order (descending position in its dtype enum, which puts wider
/// types first: I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL; then by name), the header is
/// `__metadata__` first then tensors in file order, padded with spaces to a multiple of 8 bytes.
public struct SafetensorsWriter: Sendable {
    public var metadata: [String: String]
    private var entries: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])] = []

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds raw little-endian bytes; their length must match dtype × shape.
    public mutating func add(_ name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) * dtype.byteWidth == bytes.count,
                     "tensor \(name): \(bytes.count) bytes for \(dtype.rawValue) \(shape)")
        precondition(!entries.contains { $0.name == name } && name != "__metadata__", "duplicate tensor name \(name)")
        entries.append((name, dtype, shape, bytes))
    }

    /// Adds Float values stored as `dtype` (F32, F16 or BF16; narrowing rounds to nearest even).
    public mutating func add(_ name: String, floats: [Float], shape: [Int], as dtype: TensorDType = .f32) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(floats.count * dtype.byteWidth)
        switch dtype {
        case .f32: for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        case .f16: for f in floats { withUnsafeBytes(of: HalfFloat.floatToF16(f).littleEndian) { bytes.append(contentsOf: $0) } }
        case .bf16: for f in floats { withUnsafeBytes(of: HalfFloat.floatToBF16(f).littleEndian) { bytes.append(contentsOf: $0) } }
        default: preconditionFailure("add(floats:) stores F32, F16 or BF16, not \(dtype.rawValue)")
        }
        add(name, dtype: dtype, shape: shape, bytes: bytes)
    }

    public mutating func add(_ name: String, int32s: [Int32], shape: [Int]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(int32s.count * 4)
        for v in int32s { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        add(name, dtype: .i32, shape: shape, bytes: bytes)
    }

    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(int64s.count * 8)
        for v in int64s { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        add(name, dtype: .i64, shape: shape, bytes: bytes)
    }

    /// The whole file.
    public func serialized() -> Data {
        let ordered = entries.sorted { ($0.dtype.referenceRank, $1.name) > ($1.dtype.referenceRank, $0.name) }
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(HeaderJSON.quoted($0)):\(HeaderJSON.quoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for e in ordered {
            let shape = e.shape.map(String.init).joined(separator: ",")
            parts.append("\(HeaderJSON.quoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}")
            offset += e.bytes.count
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var out = Data()
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for e in ordered { out.append(contentsOf: e.bytes) }
        return out
    }

    /// Writes the file atomically (temp file + rename): an interrupted write leaves no partial file.
    public func write(to path: String) throws(AttnError) {
        try AtomicFile.write(serialized(), to: path)
    }
}
