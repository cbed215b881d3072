import Foundation
import Testing
@testable import AttnCore

/// Locates Tests/Fixtures/io and makes scratch directories for the IO tests.
enum IOTestSupport {
    static let fixtures: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.appendingPathComponent("Tests/Fixtures/io")
            }
        }
        fatalError("package root not found above \(#filePath)")
    }()

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name))) }

    /// A fresh empty directory under the system temporary directory.
    static func scratchDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-io-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent(name))) as! [String: Any]
    }

    /// The message of the AttnError thrown by `body`, or nil when it does not throw.
    static func errorText(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }
}

@Suite struct SafetensorsReaderTests {
    @Test func readsEveryDtypeWrittenByTheReferenceLibrary() throws {
        let file = try SafetensorsFile(path: IOTestSupport.fixture("dtypes.safetensors"))
        let expected = try IOTestSupport.json("dtypes.json")
        #expect(file.metadata == expected["__metadata__"] as? [String: String])
        #expect(file.metadata["note"] == "quoted \"text\", comma, and ünïcode")
        #expect(Set(file.names) == Set(expected.keys.filter { $0 != "__metadata__" }))
        for (name, anyEntry) in expected where name != "__metadata__" {
            let entry = anyEntry as! [String: Any]
            let info = try file.info(name)
            #expect(info.shape == (entry["shape"] as! [Int]), "\(name)")
            if let bits = entry["f32bits"] as? [NSNumber] {
                let values = try file.floats(name)
                #expect(values.map(\.bitPattern) == bits.map { UInt32($0.uint64Value) }, "\(name)")
            } else {
                let ints = (entry["values"] as! [NSNumber]).map(\.int64Value)
                #expect(try file.int64s(name) == ints, "\(name)")
                if info.dtype != .i64 { #expect(try file.int32s(name).map(Int64.init) == ints, "\(name)") }
            }
        }
        #expect(try file.info("f64").dtype == .f64)
        #expect(try file.info("bf16").dtype == .bf16)
        #expect(try file.info("scalar").elementCount == 1)
        #expect(try file.info("empty").byteCount == 0)
        #expect(try file.floats("empty") == [])
        #expect(try file.rawBytes("u8") == [0, 200, 255])
    }

    @Test func wrongTypeAndMissingTensorAreNamed() throws {
        let file = try SafetensorsFile(path: IOTestSupport.fixture("dtypes.safetensors"))
        let path = IOTestSupport.fixture("dtypes.safetensors")
        #expect(IOTestSupport.errorText { _ = try file.floats("i32") }
                == "\(path): i32: expected a floating-point tensor (F32, F16, BF16, F64), found I32")
        #expect(IOTestSupport.errorText { _ = try file.floats("nope") } == "\(path): nope: tensor not found")
        #expect(IOTestSupport.errorText { _ = try file.int32s("i64") }?.contains("found I64") == true)
        var small = [Float](repeating: 0, count: 2)
        #expect(IOTestSupport.errorText {
            try small.withUnsafeMutableBufferPointer { try file.readFloats("f32", into: $0) }
        }?.contains("expected 2 elements, tensor has 6") == true)
    }

    /// Each corrupt file (all rejected by the reference library, see corrupt.json) gives a located error.
    @Test(arguments: [
        ("truncated", nil, "trailing bytes"),  // the last tensor runs past the end → see below
        ("short", nil, "too short for a safetensors file"),
        ("header_past_end", "header", "header length 4096 runs past the end of the file (10 bytes"),
        ("huge_header", "header", "header length 200000000 exceeds the limit of 100000000 bytes"),
        ("bad_json", "header", "invalid JSON at header byte"),
        ("not_object", "header", "expected a JSON object, found an array"),
        ("unknown_dtype", "a", "unsupported dtype \"F7\""),
        ("overlap", "b", "overlap tensor 'a' which ends at 8"),
        ("gap", "b", "4 unused bytes"),
        ("wrong_length", "a", "F32 shape [3] needs 12 bytes but data_offsets [0, 16] hold 16"),
        ("begin_after_end", "a", "begin is after end"),
        ("offsets_past_end", "a", "run past the end of the data region (16 bytes"),
        ("negative_shape", "a", "shape: negative value -4"),
        ("overflow_shape", "a", "too many elements (overflow)"),
        ("duplicate_name", "header", "duplicated key \"a\""),
        ("trailing_bytes", nil, "4 trailing bytes"),
        ("bad_metadata", "__metadata__.k", "expected a string value, found a number"),
    ] as [(String, String?, String)])
    func corruptFileIsRejected(name: String, item: String?, message: String) throws {
        let path = IOTestSupport.fixture("corrupt/\(name).safetensors")
        let reference = try IOTestSupport.json("corrupt.json")
        #expect(reference[name] is String, "the reference library must reject \(name) too")
        var thrown: AttnError?
        do { _ = try SafetensorsFile(path: path) } catch { thrown = error }
        guard case let .input(file, gotItem, gotMessage)? = thrown else {
            Issue.record("\(name): expected an input error, got \(String(describing: thrown))")
            return
        }
        #expect(file == path)
        if name == "truncated" {
            // 5 bytes cut from the end: the last tensor's data_offsets run past the data region.
            #expect(gotMessage.contains("run past the end of the data region"), "\(gotMessage)")
        } else {
            #expect(gotItem == item, "\(name): \(gotMessage)")
            #expect(gotMessage.contains(message), "\(name): \(gotMessage)")
        }
        #expect(thrown?.exitCode == 2)
    }

    @Test func missingFileIsAnInputError() {
        #expect(IOTestSupport.errorText { _ = try SafetensorsFile(path: "/nonexistent/x.safetensors") }
                == "/nonexistent/x.safetensors: cannot open: No such file or directory")
    }

    @Test func headerLimitIsConfigurable() throws {
        let bytes = try IOTestSupport.bytes("dtypes.safetensors")
        #expect(IOTestSupport.errorText { _ = try SafetensorsFile(bytes: bytes, name: "m", maxHeaderBytes: 64) }?
            .contains("exceeds the limit of 64 bytes") == true)
    }

    @Test func jsonEdgeCasesInHeader() throws {
        func image(_ header: String, _ payload: [UInt8] = []) -> [UInt8] {
            let h = Array(header.utf8)
            return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + payload
        }
        // Escapes, whitespace and padding are accepted; the name is decoded.
        let ok = try SafetensorsFile(bytes: image(" {\"a\\u00e9\\n\" : {\"shape\":[1],\"dtype\":\"U8\",\"data_offsets\":[0,1]}}   ", [9]), name: "m")
        #expect(ok.names == ["aé\n"])
        #expect(try ok.int32s("aé\n") == [9])
        // Empty header object: a valid file with no tensors.
        #expect(try SafetensorsFile(bytes: image("{}"), name: "m").tensors.isEmpty)
        // Floats in offsets, missing fields, unknown fields, deep nesting.
        #expect(IOTestSupport.errorText { _ = try SafetensorsFile(bytes: image("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1.0]}}", [1]), name: "m") }
                == "m: a: data_offsets: expected non-negative integers, found a number")
        #expect(IOTestSupport.errorText { _ = try SafetensorsFile(bytes: image("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", [1]), name: "m") }
                == "m: a: missing field \"data_offsets\"")
        #expect(IOTestSupport.errorText { _ = try SafetensorsFile(bytes: image("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", [1]), name: "m") }?
            .contains("unknown field \"x\"") == true)
        #expect(IOTestSupport.errorText { _ = try SafetensorsFile(bytes: image(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)), name: "m") }?
            .contains("nesting deeper than 64") == true)
        #expect(IOTestSupport.errorText { _ = try SafetensorsFile(bytes: image("{\"a\":1} x"), name: "m") }?
            .contains("unexpected data after the JSON value") == true)
    }
}

@Suite struct SafetensorsWriterTests {
    @Test func reproducesTheReferenceLibraryByteForByte() throws {
        var w = SafetensorsWriter(metadata: ["k": "v"])
        try w.add("b", shape: [3], floats: [1, 2, 3], as: .f16)
        try w.add("a", shape: [2, 2], floats: [1, 2, 3, 4])
        try w.add("c", shape: [2], int64s: [5, -6])
        try w.add("d", shape: [1], int32s: [7])
        try w.add("e", shape: [2], floats: [0.5, -0.5], as: .bf16)
        try w.add("z", shape: [0], floats: [])
        #expect(w.serialize() == (try IOTestSupport.bytes("writer_reference.safetensors")))
    }

    @Test func roundTripsThroughAFile() throws {
        let dir = try IOTestSupport.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/rt.safetensors"
        var w = SafetensorsWriter(metadata: ["model": "x", "quote": "a\"b\\c\n\u{1}"])
        let values: [Float] = [0, -1.5, 3.25, .infinity, -.infinity, 1e-7]
        try w.add("x.f32", shape: [2, 3], floats: values)
        try w.add("x.f16", shape: [6], floats: values, as: .f16)
        try w.add("x.bf16", shape: [6], floats: values, as: .bf16)
        try w.add("ids", shape: [3], int32s: [1, -2, .max])
        try w.add("big", shape: [], int64s: [.min])
        try w.add("raw", dtype: .u8, shape: [2], bytes: [1, 2])
        try w.write(to: path)
        let r = try SafetensorsFile(path: path)
        #expect(r.metadata == w.metadata)
        #expect(try r.floats("x.f32") == values)
        #expect(try r.floats("x.f16") == values.map { HalfFloat.f16ToFloat(HalfFloat.floatToF16($0)) })
        #expect(try r.floats("x.bf16") == values.map { HalfFloat.bf16ToFloat(HalfFloat.floatToBF16($0)) })
        #expect(try r.int32s("ids") == [1, -2, .max])
        #expect(try r.int64s("big") == [.min])
        #expect(try r.info("big").shape == [])
        #expect(try r.rawBytes("raw") == [1, 2])
        // Header is padded to a multiple of 8, and no temporary file is left behind.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } % 8 == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["rt.safetensors"])
    }

    @Test func rejectsBadTensors() throws {
        var w = SafetensorsWriter(label: "out.safetensors")
        try w.add("a", shape: [1], floats: [1])
        #expect(IOTestSupport.errorText { try w.add("a", shape: [1], floats: [1]) } == "out.safetensors: a: duplicated tensor name")
        #expect(IOTestSupport.errorText { try w.add("b", shape: [2], floats: [1]) } == "out.safetensors: b: F32 shape [2] needs 2 × 4 bytes, got 4")
        #expect(IOTestSupport.errorText { try w.add("__metadata__", shape: [1], floats: [1]) } == "out.safetensors: __metadata__: invalid tensor name")
        #expect(IOTestSupport.errorText { try w.add("c", shape: [-1], floats: []) }?.contains("negative dimension") == true)
        #expect(w.count == 1)
    }
}

@Suite struct SafetensorsRobustnessTests {
    /// Data at an odd file offset (unpadded header) is read correctly (unaligned loads).
    @Test func readsUnalignedData() throws {
        let header = "{\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[10,18]}}"
        #expect(header.utf8.count % 2 == 1)
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8)
        for x: Float in [1.5, -2] { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
        bytes += [0x00, 0x3C]  // F16 1.0
        withUnsafeBytes(of: Int64(-7).littleEndian) { bytes += $0 }
        let f = try SafetensorsFile(bytes: bytes, name: "odd")
        #expect(try f.floats("f") == [1.5, -2])
        #expect(try f.floats("h") == [1])
        #expect(try f.int64s("i") == [-7])
    }

    /// Every truncation and seeded random byte corruption of a valid file either parses or throws an
    /// AttnError — never crashes, hangs or reads out of bounds (reads of every tensor are attempted).
    @Test func truncationsAndCorruptionsNeverCrash() throws {
        let good = try IOTestSupport.bytes("dtypes.safetensors")
        func attempt(_ b: [UInt8]) -> Bool {
            guard let f = try? SafetensorsFile(bytes: b, name: "fuzz") else { return false }
            for t in f.tensors {
                if t.dtype.isFloatingPoint { _ = try? f.floats(t.name) } else { _ = try? f.int64s(t.name) }
            }
            return true
        }
        var accepted = 0
        for n in 0..<good.count where attempt(Array(good[0..<n])) { accepted += 1 }
        #expect(accepted == 0)  // no proper prefix of a valid file is valid
        var rng = SplitMix64(seed: 1)
        for _ in 0..<3000 {
            var b = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<min(b.count, 400), using: &rng)  // mostly the header
                b[i] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = attempt(b)
        }
    }
}
