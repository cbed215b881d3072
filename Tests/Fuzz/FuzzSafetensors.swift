// libFuzzer target: the safetensors reader and the trace validator on arbitrary bytes.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let d = Data(bytes: data, count: size)
    guard let f = try? SafetensorsFile(data: d, path: "fuzz.safetensors") else { return 0 }
    for t in f.tensors.prefix(64) where t.elementCount <= 1 << 20 {
        if t.dtype.isFloatingPoint { _ = try? f.floats(t.name) } else { _ = try? f.integers(t.name) }
    }
    _ = try? TraceMetadata(strings: f.metadata, file: "fuzz")
    return 0
}
