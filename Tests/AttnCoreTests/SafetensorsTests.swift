import Foundation
import Testing
@testable import AttnCore

@Suite struct SafetensorsTests {
    /// Reads files written by the reference `safetensors` library (Scripts/make_io_fixtures.py).
    @Test func readsReferenceLibraryFiles() throws {
        let expected = try Fixtures.json("io/expected.json")
        let f = try SafetensorsFile(path: Fixtures.path("io/dtypes.safetensors"))
        #expect(f.metadata == ["note": "made by make_io_fixtures.py", "quote": "a \"b\""])
        #expect(try f.info("f32").shape == [2, 3])
        #expect(try f.floats("f32") == (expected["f32"] as! [Any]).floats)
        let f16 = try f.floats("f16")
        #expect(f16 == (expected["f16"] as! [Any]).floats)
        #expect(try f.floats("f64") == (expected["f64"] as! [Any]).floats)
        #expect(try f.integers("i32") == (expected["i32"] as! [Any]).int64s)
        #expect(try f.integers("i64") == (expected["i64"] as! [Any]).int64s)
        #expect(try f.integers("u8") == (expected["u8"] as! [Any]).int64s)
        #expect(try f.info("empty").shape == [0, 4])
        #expect(try f.floats("empty").isEmpty)
        #expect(try f.info("scalar").shape == [])
        #expect(try f.floats("scalar") == [3.5])
        let bf = try SafetensorsFile(path: Fixtures.path("io/bf16.safetensors"))
        #expect(try bf.floats("bf16") == (expected["bf16"] as! [Any]).floats)
    }

    @Test func writerOutputRoundTripsAndIsByteIdenticalToTheReferenceLayout() throws {
        // Re-serialize the reference file's tensors: same bytes per tensor, and the file reads back.
        let ref = try SafetensorsFile(path: Fixtures.path("io/dtypes.safetensors"))
        var w = SafetensorsWriter(metadata: ref.metadata)
        for t in ref.tensors {
            let bytes = try ref.withBytes(t.name) { Array($0) }
            w.add(t.name, dtype: t.dtype, shape: t.shape, bytes: bytes)
        }
        let data = w.serialized()
        let back = try SafetensorsFile(data: data, path: "mem")
        #expect(Set(back.tensors.map(\.name)) == Set(ref.tensors.map(\.name)))
        for t in ref.tensors {
            #expect(try back.withBytes(t.name) { Array($0) } == ref.withBytes(t.name) { Array($0) })
            #expect(try back.info(t.name).shape == t.shape)
        }
        // Header padded to 8 bytes; wider dtypes first (alignment), as the reference library orders them.
        let n = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(n % 8 == 0)
        #expect(back.tensors.first?.dtype.byteWidth == 8)
    }

    @Test func floatConversionOnWrite() throws {
        var w = SafetensorsWriter()
        w.add("h", floats: [1, 0.1, -65504, 1e-8], shape: [4], as: .f16)
        w.add("b", floats: [1, 0.1], shape: [2], as: .bf16)
        w.add("i", int32s: [1, -1], shape: [2])
        let f = try SafetensorsFile(data: w.serialized(), path: "mem")
        #expect(try f.floats("h") == [1, HalfFloat.f16ToFloat(HalfFloat.floatToF16(0.1)), -65504, 0])
        #expect(try f.floats("b")[1] == 0.10009765625)
        #expect(try f.integers("i") == [1, -1])
        #expect(throws: AttnError.input(file: "mem", item: "i", message: "expected a floating-point tensor (F32/F16/BF16/F64), found I32")) {
            try f.floats("i")
        }
        #expect(throws: AttnError.input(file: "mem", item: "nope", message: "tensor not found")) { try f.info("nope") }
    }

    /// Builds a file from a header string and a data region.
    static func file(header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
        var d = Data()
        withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: data)
        return d
    }

    @Test(arguments: [
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, nil as UInt64?, "a: data_offsets [0, 8] run past the 4-byte data region (truncated file?)"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 1_000_000 as UInt64?, "header length 1000000 runs past the end"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 200_000_000 as UInt64?, "exceeds the 100000000-byte limit"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, nil, "a: F32 [3] needs 12 bytes, data_offsets give 8"),
        ("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, nil, "a: unsupported dtype 'Q4'"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, nil, "a: shape"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, nil, "a: data_offsets [8, 0] are not ordered"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, nil, "b: data_offsets [4, 8] overlap"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, nil, "a: hole in the data region"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, nil, "data region has 8 bytes but the tensors cover 4"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8, nil, "header is not valid JSON"),
        ("[1,2]", 0, nil, "header is not a JSON object"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]}}", 4, nil, "a: shape"),
        ("{\"__metadata__\":{\"k\":1}}", 0, nil, "__metadata__.k: expected a string value"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, nil, "a: shape"),
    ])
    func corruptFilesAreRejectedWithTheirReason(header: String, dataBytes: Int, length: UInt64?, message: String) {
        let data = Self.file(header: header, data: Array(repeating: 0, count: dataBytes), length: length)
        do {
            _ = try SafetensorsFile(data: data, path: "bad.safetensors")
            Issue.record("accepted a corrupt file: \(header)")
        } catch {
            #expect(error.description.hasPrefix("bad.safetensors: "))
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func tooShortAndMissingFiles() throws {
        #expect(throws: AttnError.self) { try SafetensorsFile(data: Data([1, 2, 3]), path: "x") }
        do {
            _ = try SafetensorsFile(path: "/nonexistent/file.safetensors")
            Issue.record("opened a missing file")
        } catch {
            #expect(error.description == "/nonexistent/file.safetensors: no such file (expected a safetensors file)")
        }
    }

    @Test func noCrashOnRandomCorruption() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("io/dtypes.safetensors")))
        var rng = SplitMix64(seed: 7)
        for i in 0..<3000 {
            var d = good
            switch i % 3 {
            case 0: d = d.prefix(Int(rng.next() % UInt64(d.count)))
            case 1:
                for _ in 0..<4 { d[Int(rng.next() % UInt64(d.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            default:
                let at = 8 + Int(rng.next() % 200)
                d[at] = UInt8(ascii: "9")
            }
            if let f = try? SafetensorsFile(data: d, path: "fuzz") {
                for t in f.tensors where t.dtype.isFloatingPoint { _ = try f.floats(t.name) }
            }
        }
    }
}
