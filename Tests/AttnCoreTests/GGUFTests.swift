import Foundation
import Testing
@testable import AttnCore

@Suite struct GGUFTests {
    /// Every tensor of a file written by the reference `gguf` package dequantizes to the values its
    /// own dequantizer gives (Scripts/make_gguf_fixtures.py).
    @Test func readsReferenceFileExactly() throws {
        let f = try GGUFFile(path: Fixtures.path("gguf/tiny.gguf"))
        let expected = try Fixtures.json("gguf/tiny_expected.json")
        #expect(f.version == 3)
        #expect(f.metadata["general.architecture"] == .string("llama"))
        #expect(f.metadata["test.u32"]?.int == 7)
        #expect(f.metadata["test.i32"]?.int == -3)
        #expect(f.metadata["test.f32"]?.double == 1.5)
        #expect(f.metadata["test.bool"] == .bool(true))
        #expect(f.metadata["test.string"]?.string == "héllo")
        #expect(f.metadata["test.strings"] == .array([.string("a"), .string("bc"), .string("")]))
        #expect(f.metadata["test.u64"]?.int == 1 << 40)
        #expect(f.metadata["test.f64"]?.double == 0.25)
        #expect(f.tensors.count == 6)
        for (name, any) in expected {
            let e = any as! [String: Any]
            let t = try f.tensor(name)
            #expect(t.type.name == e["type"] as! String)
            #expect(t.dims == (e["shape"] as! [Int]))
            #expect(try f.floats(name) == (e["values"] as! [Any]).floats, "\(name)")
        }
    }

    /// Slices of the real SmolLM2 Q4_1 GGUF, against the gguf package (needs Scripts/fetch-assets).
    @Test func readsSmolLM2() throws {
        let path = try Fixtures.assets("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        let f = try GGUFFile(path: path)
        #expect(f.metadata["general.architecture"]?.string == "llama")
        #expect(f.metadata["llama.block_count"]?.int == 30)
        #expect(f.metadata["llama.attention.head_count"]?.int == 9)
        #expect(f.metadata["llama.attention.head_count_kv"]?.int == 3)
        #expect(f.metadata["tokenizer.ggml.tokens"]?.array?.count == 49152)
        #expect(f.tensors.count == 272)
        let expected = try Fixtures.json("gguf/smollm2_slices.json")
        for (name, any) in expected {
            let e = any as! [String: Any]
            let t = try f.tensor(name)
            #expect(t.type.name == e["type"] as! String)
            #expect(t.dims == (e["dims"] as! [Int]))
            let v = try f.floats(name)
            #expect(Array(v.prefix(96)) == (e["first"] as! [Any]).floats, "\(name)")
            #expect(Array(v.suffix(96)) == (e["last"] as! [Any]).floats, "\(name)")
            let sum = v.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - (e["sum"] as! Double)) <= 1e-6 * max(1, abs(sum)), "\(name)")
        }
    }

    @Test func corruptFilesAreRejectedByName() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf/tiny.gguf")))
        func message(_ d: Data) -> String {
            do { _ = try GGUFFile(data: d, path: "m.gguf"); return "accepted" } catch { return error.description }
        }
        #expect(message(Data("GGML".utf8) + good.dropFirst(4)) == "m.gguf: not a GGUF file (expected the magic 'GGUF')")
        var v9 = good
        v9[4] = 9
        #expect(message(v9) == "m.gguf: version: GGUF version 9 is not supported (2 or 3)")
        var huge = good
        for i in 8..<16 { huge[i] = 0xFF }
        #expect(message(huge).contains("exceeds the limit"))
        #expect(message(good.prefix(good.count - 100)).contains("past the end of the"))
        #expect(message(good.prefix(40)).contains("truncated"))
        // Unsupported quantization: listed, rejected by name when read.
        let f = try GGUFFile(data: good, path: "m.gguf")
        #expect(throws: AttnError.input(file: "m.gguf", item: "nope", message: "tensor not found")) { try f.floats("nope") }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            var d = good
            for _ in 0..<3 { d[Int(rng.next() % UInt64(d.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            if let g = try? GGUFFile(data: d, path: "fuzz") { for t in g.tensors { _ = try? g.floats(t.name) } }
        }
    }
}
