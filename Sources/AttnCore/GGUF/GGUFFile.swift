import Foundation

/// A GGUF file (llama.cpp's model format, versions 2 and 3) opened read-only and memory-mapped:
/// header (magic "GGUF", version, tensor count, metadata count), typed metadata, tensor infos, and
/// the data section at the next multiple of `general.alignment` (default 32).
///
/// Validation at open, each failure naming the file and the key or tensor: magic and version,
/// counts and string/array lengths bounded (a corrupt count cannot exhaust memory), every read
/// inside the file, known value types, tensor offsets aligned and inside the file, byte sizes
/// consistent with the type's block layout. Tensors of types other than F32, F16, BF16, Q8_0, Q4_0
/// and Q4_1 are listed but `floats(_:)` rejects them by name.
public final class GGUFFile: @unchecked Sendable {
    public enum Value: Sendable, Equatable {
        case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array([Value])

        public var int: Int? {
            switch self {
            case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
            case .int(let v): return Int(v)
            default: return nil
            }
        }
        public var double: Double? {
            switch self {
            case .float(let v): return v
            case .uint(let v): return Double(v)
            case .int(let v): return Double(v)
            default: return nil
            }
        }
        public var string: String? { if case .string(let s) = self { return s } else { return nil } }
        public var array: [Value]? { if case .array(let a) = self { return a } else { return nil } }
    }

    /// ggml tensor types (the numbering of ggml.h).
    public enum TensorType: Sendable, Equatable {
        case f32, f16, bf16, q8_0, q4_0, q4_1
        case unsupported(UInt32)

        init(code: UInt32) {
            switch code {
            case 0: self = .f32
            case 1: self = .f16
            case 2: self = .q4_0
            case 3: self = .q4_1
            case 8: self = .q8_0
            case 30: self = .bf16
            default: self = .unsupported(code)
            }
        }

        public var name: String {
            switch self {
            case .f32: return "F32"
            case .f16: return "F16"
            case .bf16: return "BF16"
            case .q8_0: return "Q8_0"
            case .q4_0: return "Q4_0"
            case .q4_1: return "Q4_1"
            case .unsupported(let c):
                let names: [UInt32: String] = [6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K",
                                               14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
                                               20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16",
                                               26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M"]
                return names[c] ?? "type \(c)"
            }
        }

        /// (elements per block, bytes per block); nil for unsupported types.
        var block: (elements: Int, bytes: Int)? {
            switch self {
            case .f32: return (1, 4)
            case .f16, .bf16: return (1, 2)
            case .q8_0: return (32, 34)
            case .q4_0: return (32, 18)
            case .q4_1: return (32, 20)
            case .unsupported: return nil
            }
        }
    }

    public struct Tensor: Sendable, Equatable {
        public let name: String
        /// GGUF order: dims[0] is the fastest-varying (the row length).
        public let dims: [Int]
        public let type: TensorType
        /// Absolute file offset of the data.
        public let fileOffset: Int
        public var elementCount: Int { dims.reduce(1, *) }
        /// Rows × row length as a row-major matrix (dims reversed, leading dims folded into rows).
        public var rows: Int { dims.count <= 1 ? 1 : dims.dropFirst().reduce(1, *) }
        public var rowLength: Int { dims.first ?? 1 }
    }

    public static let maxCount = 1 << 24
    public static let maxStringBytes = 1 << 24

    public let path: String
    public let version: Int
    public let metadata: [String: Value]
    public let tensors: [Tensor]
    public let alignment: Int
    private let index: [String: Int]
    private let data: Data

    public convenience init(path: String) throws(AttnError) {
        let data = try mappedFile(path, kind: "a GGUF file")
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String) throws(AttnError) {
        self.path = path
        self.data = data
        var cursor = Cursor(data: data, path: path)
        guard data.count >= 4, try cursor.bytes(4) == Array("GGUF".utf8) else {
            throw AttnError.input(file: path, item: nil, message: "not a GGUF file (expected the magic 'GGUF')")
        }
        let version = Int(try cursor.u32("version"))
        guard version == 2 || version == 3 else {
            throw AttnError.input(file: path, item: "version", message: "GGUF version \(version) is not supported (2 or 3)")
        }
        self.version = version
        let tensorCount = try cursor.count("tensor_count")
        let kvCount = try cursor.count("kv_count")
        var metadata: [String: Value] = [:]
        for _ in 0..<kvCount {
            let key = try cursor.string("metadata key")
            let type = try cursor.u32(key)
            metadata[key] = try cursor.value(type: type, key: key, depth: 0)
        }
        self.metadata = metadata
        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0, v <= 1 << 20 else {
                throw AttnError.input(file: path, item: "general.alignment", message: "expected a power of two, got \(a)")
            }
            alignment = v
        }
        self.alignment = alignment
        var infos: [(String, [Int], TensorType, Int)] = []
        for _ in 0..<tensorCount {
            let name = try cursor.string("tensor name")
            let nDims = Int(try cursor.u32(name))
            guard (1...8).contains(nDims) else { throw AttnError.input(file: path, item: name, message: "\(nDims) dimensions (expected 1...8)") }
            var dims: [Int] = []
            var count = 1
            for _ in 0..<nDims {
                let d = try cursor.u64(name)
                guard d <= UInt64(1 << 40) else { throw AttnError.input(file: path, item: name, message: "dimension \(d) is too large") }
                let (p, o) = count.multipliedReportingOverflow(by: Int(d))
                guard !o, p <= 1 << 40 else { throw AttnError.input(file: path, item: name, message: "shape \(dims + [Int(d)]) is too large") }
                count = p
                dims.append(Int(d))
            }
            let type = TensorType(code: try cursor.u32(name))
            let offset = try cursor.u64(name)
            guard offset <= UInt64(data.count) else { throw AttnError.input(file: path, item: name, message: "data offset \(offset) is past the end of the file") }
            infos.append((name, dims, type, Int(offset)))
        }
        let dataStart = (cursor.offset + alignment - 1) / alignment * alignment
        var tensors: [Tensor] = []
        var index: [String: Int] = [:]
        for (name, dims, type, offset) in infos {
            guard index[name] == nil else { throw AttnError.input(file: path, item: name, message: "duplicate tensor name") }
            guard offset % alignment == 0 else {
                throw AttnError.input(file: path, item: name, message: "data offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            let t = Tensor(name: name, dims: dims, type: type, fileOffset: dataStart + offset)
            if let b = type.block {
                guard t.rowLength % b.elements == 0 else {
                    throw AttnError.input(file: path, item: name, message: "row length \(t.rowLength) is not a multiple of the \(type.name) block of \(b.elements)")
                }
                let bytes = t.elementCount / b.elements * b.bytes
                guard t.fileOffset + bytes <= data.count else {
                    throw AttnError.input(file: path, item: name, message: "\(type.name) \(dims) needs \(bytes) bytes at offset \(t.fileOffset), past the end of the \(data.count)-byte file (truncated?)")
                }
            }
            index[name] = tensors.count
            tensors.append(t)
        }
        self.tensors = tensors
        self.index = index
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func tensor(_ name: String) throws(AttnError) -> Tensor {
        guard let i = index[name] else { throw AttnError.input(file: path, item: name, message: "tensor not found") }
        return tensors[i]
    }

    /// The tensor's raw bytes (its blocks, as stored).
    public func rawBytes(_ name: String) throws(AttnError) -> [UInt8] {
        let t = try tensor(name)
        guard let b = t.type.block else {
            throw AttnError.input(file: path, item: name, message: "tensor type \(t.type.name) is not supported")
        }
        let n = t.elementCount / b.elements * b.bytes
        return data.withUnsafeBytes { Array($0[t.fileOffset..<(t.fileOffset + n)]) }
    }

    /// The tensor dequantized to Float, row-major with dims reversed (rows × rowLength).
    public func floats(_ name: String) throws(AttnError) -> [Float] {
        let t = try tensor(name)
        guard t.type.block != nil else {
            throw AttnError.input(file: path, item: name, message: "tensor type \(t.type.name) is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1)")
        }
        var out = [Float](repeating: 0, count: t.elementCount)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + t.fileOffset
            out.withUnsafeMutableBufferPointer { o in GGUFFile.dequantize(base, type: t.type, count: t.elementCount, into: o) }
        }
        return out
    }

    /// Dequantization of ggml's block formats (ggml-quants.c): each block of 32 holds an F16 scale d
    /// (and for Q4_1 an F16 minimum m) and its quants: Q8_0 x = d·q (int8); Q4_0 x = d·(q − 8) and
    /// Q4_1 x = d·q + m with 4-bit q, the low nibbles of the 16 bytes giving elements 0–15 and the
    /// high nibbles elements 16–31.
    static func dequantize(_ p: UnsafeRawPointer, type: TensorType, count: Int, into out: UnsafeMutableBufferPointer<Float>) {
        func f16(_ off: Int) -> Float { HalfFloat.f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: off, as: UInt16.self))) }
        switch type {
        case .f32:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { out[i] = f16(2 * i) }
        case .bf16:
            for i in 0..<count { out[i] = HalfFloat.bf16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .q8_0:
            for b in 0..<(count / 32) {
                let o = b * 34
                let d = f16(o)
                for j in 0..<32 { out[b * 32 + j] = d * Float(p.load(fromByteOffset: o + 2 + j, as: Int8.self)) }
            }
        case .q4_0:
            for b in 0..<(count / 32) {
                let o = b * 18
                let d = f16(o)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: o + 2 + j, as: UInt8.self)
                    out[b * 32 + j] = d * Float(Int(q & 0x0F) - 8)
                    out[b * 32 + j + 16] = d * Float(Int(q >> 4) - 8)
                }
            }
        case .q4_1:
            for b in 0..<(count / 32) {
                let o = b * 20
                let d = f16(o), m = f16(o + 2)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: o + 4 + j, as: UInt8.self)
                    out[b * 32 + j] = d * Float(q & 0x0F) + m
                    out[b * 32 + j + 16] = d * Float(q >> 4) + m
                }
            }
        case .unsupported:
            break
        }
    }

    /// Bounds-checked little-endian reading of the header.
    struct Cursor {
        let data: Data
        let path: String
        var offset = 4

        init(data: Data, path: String) {
            self.data = data
            self.path = path
            self.offset = 0
        }

        mutating func bytes(_ n: Int) throws(AttnError) -> [UInt8] {
            guard n >= 0, offset + n <= data.count else {
                throw AttnError.input(file: path, item: nil, message: "truncated: needs \(n) bytes at offset \(offset) of \(data.count)")
            }
            defer { offset += n }
            return Array(data[data.startIndex + offset ..< data.startIndex + offset + n])
        }

        mutating func fixed<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(AttnError) -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= data.count else {
                throw AttnError.input(file: path, item: what, message: "truncated at offset \(offset) (file has \(data.count) bytes)")
            }
            let v = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
            offset += size
            return T(littleEndian: v)
        }

        mutating func u32(_ what: String) throws(AttnError) -> UInt32 { try fixed(UInt32.self, what) }
        mutating func u64(_ what: String) throws(AttnError) -> UInt64 { try fixed(UInt64.self, what) }

        mutating func count(_ what: String) throws(AttnError) -> Int {
            let n = try u64(what)
            guard n <= UInt64(GGUFFile.maxCount) else {
                throw AttnError.input(file: path, item: what, message: "count \(n) exceeds the limit of \(GGUFFile.maxCount) (corrupt file?)")
            }
            return Int(n)
        }

        mutating func string(_ what: String) throws(AttnError) -> String {
            let n = try u64(what)
            guard n <= UInt64(GGUFFile.maxStringBytes) else {
                throw AttnError.input(file: path, item: what, message: "string length \(n) exceeds the limit (corrupt file?)")
            }
            return String(decoding: try bytes(Int(n)), as: UTF8.self)
        }

        mutating func value(type: UInt32, key: String, depth: Int) throws(AttnError) -> Value {
            switch type {
            case 0: return .uint(UInt64(try fixed(UInt8.self, key)))
            case 1: return .int(Int64(try fixed(Int8.self, key)))
            case 2: return .uint(UInt64(try fixed(UInt16.self, key)))
            case 3: return .int(Int64(try fixed(Int16.self, key)))
            case 4: return .uint(UInt64(try u32(key)))
            case 5: return .int(Int64(try fixed(Int32.self, key)))
            case 6: return .float(Double(Float(bitPattern: try u32(key))))
            case 7:
                let b = try fixed(UInt8.self, key)
                guard b <= 1 else { throw AttnError.input(file: path, item: key, message: "bool value \(b) (expected 0 or 1)") }
                return .bool(b == 1)
            case 8: return .string(try string(key))
            case 9:
                guard depth < 4 else { throw AttnError.input(file: path, item: key, message: "arrays nested too deeply") }
                let elementType = try u32(key)
                let n = try count(key)
                var items: [Value] = []
                items.reserveCapacity(min(n, 1 << 16))
                for _ in 0..<n { items.append(try value(type: elementType, key: key, depth: depth + 1)) }
                return .array(items)
            case 10: return .uint(try u64(key))
            case 11: return .int(Int64(bitPattern: try u64(key)))
            case 12: return .float(Double(bitPattern: try u64(key)))
            default:
                throw AttnError.input(file: path, item: key, message: "unknown metadata value type \(type)")
            }
        }
    }
}
