// libFuzzer target: the GGUF reader (header, metadata, tensor infos) and dequantization.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let f = try? GGUFFile(data: Data(bytes: data, count: size), path: "fuzz.gguf") else { return 0 }
    for t in f.tensors.prefix(16) where t.elementCount <= 1 << 16 { _ = try? f.floats(t.name) }
    return 0
}
