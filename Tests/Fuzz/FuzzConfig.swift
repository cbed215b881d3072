// libFuzzer target: the config parser, base-free loading and typed decoding of an experiment config.
// Built by Scripts/fuzz together with Sources/AttnCore (one module).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let node = try? ConfigParser.parse(bytes: bytes, file: "fuzz.yaml") {
        _ = node.canonicalText
        _ = try? ConfigSweep.expand(node, maxPoints: 1000)
        if let r = try? ConfigReader(node) {
            _ = try? r.int("a", default: 0, range: 0...10)
            _ = try? r.child("b").strings("c", default: [])
            _ = try? r.finish()
        }
    }
    return 0
}
