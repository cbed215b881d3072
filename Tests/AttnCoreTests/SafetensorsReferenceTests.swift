import Foundation
import Testing
@testable import AttnCore

/// The reader and writer against files made by the reference `safetensors` library
/// (Scripts/make_io_fixtures.py): every corrupt file there is rejected by the reference too
/// (Tests/Fixtures/io/corrupt.json records its error), and the writer matches its byte layout.
@Suite struct SafetensorsReferenceTests {
    @Test(arguments: [
        ("truncated", nil, "run past the"),
        ("short", nil, "not a safetensors file: 3 bytes"),
        ("header_past_end", nil, "header length 4096 runs past the end of the 10-byte file"),
        ("huge_header", nil, "header length 200000000 exceeds the 100000000-byte limit"),
        ("bad_json", nil, "header is not valid JSON"),
        ("not_object", nil, "header is not a JSON object"),
        ("unknown_dtype", "a", "unsupported dtype 'F7'"),
        ("overlap", "b", "data_offsets [4, 12] overlap the previous tensor (ends at 8)"),
        ("gap", "b", "hole in the data region: bytes [4, 8) belong to no tensor"),
        ("wrong_length", "a", "F32 [3] needs 12 bytes, data_offsets give 16"),
        ("begin_after_end", "a", "data_offsets [16, 0] are not ordered"),
        ("offsets_past_end", "a", "data_offsets [0, 32] run past the 16-byte data region"),
        ("negative_shape", "a", "must hold non-negative integers"),
        ("overflow_shape", "a", "is too large"),
        ("duplicate_name", nil, "header has a duplicated key \"a\" at byte 54"),
        ("trailing_bytes", nil, "data region has 16 bytes but the tensors cover 12"),
        ("bad_metadata", "__metadata__.k", "expected a string value"),
    ] as [(String, String?, String)])
    func corruptFileIsRejected(name: String, item: String?, message: String) throws {
        let path = Fixtures.path("io/corrupt/\(name).safetensors")
        let reference = try Fixtures.json("io/corrupt.json")
        #expect(reference[name] is String, "the reference library rejects \(name) too")
        var thrown: AttnError?
        do { _ = try SafetensorsFile(path: path) } catch { thrown = error }
        guard case let .input(file, gotItem, gotMessage)? = thrown else {
            Issue.record("\(name): expected an input error, got \(String(describing: thrown))")
            return
        }
        #expect(file == path)
        if name != "truncated" { #expect(gotItem == item, "\(name): \(gotMessage)") }
        #expect(gotMessage.contains(message), "\(name): \(gotMessage)")
    }

    @Test func duplicatedIdenticalEntryIsRejected() throws {
        // Both entries valid and identical: JSONSerialization alone would keep one and accept the file.
        let entry = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}"
        let header = Array("{\"a\":\(entry),\"a\":\(entry)}".utf8)
        let bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header + [7]
        #expect(throws: AttnError.input(file: "m", item: nil, message: "header has a duplicated key \"a\" at byte 53 (tensor names and metadata keys must be unique)")) {
            try SafetensorsFile(data: Data(bytes), path: "m")
        }
    }

    @Test func writerReproducesTheReferenceLibraryByteForByte() throws {
        var w = SafetensorsWriter(metadata: ["k": "v"])
        w.add("b", floats: [1, 2, 3], shape: [3], as: .f16)
        w.add("a", floats: [1, 2, 3, 4], shape: [2, 2])
        w.add("c", int64s: [5, -6], shape: [2])
        w.add("d", int32s: [7], shape: [1])
        w.add("e", floats: [0.5, -0.5], shape: [2], as: .bf16)
        w.add("z", floats: [], shape: [0])
        #expect(w.serialized() == (try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("io/writer_reference.safetensors")))))
    }

    /// Data at odd file offsets (unpadded header) reads correctly (unaligned loads).
    @Test func readsUnalignedData() throws {
        let header = "{\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[10,18]}}"
        #expect(header.utf8.count % 2 == 1)
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8)
        for x: Float in [1.5, -2] { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
        bytes += [0x00, 0x3C]  // F16 1.0
        withUnsafeBytes(of: Int64(-7).littleEndian) { bytes += $0 }
        let f = try SafetensorsFile(data: Data(bytes), path: "odd")
        #expect(try f.floats("f") == [1.5, -2])
        #expect(try f.floats("h") == [1])
        #expect(try f.integers("i") == [-7])
    }

    @Test func noProperPrefixOfAValidFileIsAccepted() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("io/dtypes.safetensors")))
        _ = try SafetensorsFile(data: good, path: "full")
        for n in 0..<good.count {
            #expect(throws: AttnError.self) { try SafetensorsFile(data: good.prefix(n), path: "prefix") }
        }
    }

    @Test func headerJSONEdgeCases() throws {
        func image(_ header: String, _ payload: [UInt8] = []) -> Data {
            let h = Array(header.utf8)
            return Data(withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + payload)
        }
        let ok = try SafetensorsFile(data: image("{\"a\\u00e9\\n\" : {\"shape\":[1],\"dtype\":\"U8\",\"data_offsets\":[0,1]}}   ", [9]), path: "m")
        #expect(ok.tensors.map(\.name) == ["aé\n"])
        #expect(try SafetensorsFile(data: image("{}"), path: "m").tensors.isEmpty)
        #expect(throws: AttnError.self) { try SafetensorsFile(data: image("{\"a\":1} x"), path: "m") }
        #expect(throws: AttnError.self) { try SafetensorsFile(data: image("{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"), path: "m") }
        #expect(throws: AttnError.self) { try SafetensorsFile(data: image("{\"\\ud800\":1}"), path: "m") }
    }
}
