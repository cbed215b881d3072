import Accelerator
import AttnCore
import Foundation

/// Top-θ thresholds on disk: one safetensors file holding, per trace (by file name stem S),
/// `S.theta` F64 [layers, heads, max_length + 1] (NaN where a length was not calibrated),
/// `S.constants` F32 [layers, heads] and `S.samples` I32 [layers, heads]; the metadata records the
/// config_id, k, placement and calibration sequences used.
public enum ThresholdsFile {
    public static func stem(_ trace: String) -> String {
        ((trace as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    public static func write(_ entries: [(trace: String, thresholds: TopThetaThresholds)], metadata: [String: String],
                             to path: String) throws(AttnError) {
        var w = SafetensorsWriter(metadata: metadata.merging(["format": "attnsim-thresholds", "version": "1"]) { $1 })
        for (trace, t) in entries {
            let s = stem(trace)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(t.theta.count * 8)
            for v in t.theta { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            w.add("\(s).theta", dtype: .f64, shape: [t.layers, t.heads, t.maxLength + 1], bytes: bytes)
            w.add("\(s).constants", floats: t.constants, shape: [t.layers, t.heads])
            w.add("\(s).samples", int32s: t.samples, shape: [t.layers, t.heads])
        }
        try w.write(to: path)
    }

    /// The thresholds stored for `trace`, checked against its shapes.
    public static func load(_ path: String, for trace: TraceReader) throws(AttnError) -> TopThetaThresholds {
        let f = try SafetensorsFile(path: path)
        guard f.metadata["format"] == "attnsim-thresholds" else {
            throw AttnError.input(file: path, item: "__metadata__.format", message: "expected 'attnsim-thresholds' (write it with attnsim calibrate --out)")
        }
        let s = stem(trace.path)
        let name = "\(s).theta"
        guard f.contains(name) else {
            throw AttnError.input(file: path, item: name, message: "no thresholds for trace \(trace.path) (the file has: \(f.tensors.map(\.name).filter { $0.hasSuffix(".theta") }.joined(separator: ", ")))")
        }
        let info = try f.info(name)
        let m = trace.metadata
        guard info.dtype == .f64, info.shape.count == 3, info.shape[0] == m.layers, info.shape[1] == m.heads,
              info.shape[2] >= 1 else {
            throw AttnError.input(file: path, item: name, message: "expected F64 [\(m.layers), \(m.heads), max_length + 1] for this trace, found \(info.dtype.rawValue) \(info.shape)")
        }
        let theta: [Double]
        do {
            theta = try f.withBytes(name) { raw in
                (0..<info.elementCount).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
            }
        } catch {
            throw (error as? AttnError) ?? AttnError.input(file: path, item: name, message: "\(error)")
        }
        let constants = try f.floats("\(s).constants")
        let samples = try f.integers("\(s).samples").map { Int32(truncatingIfNeeded: $0) }
        guard constants.count == m.layers * m.heads, samples.count == m.layers * m.heads else {
            throw AttnError.input(file: path, item: "\(s).constants", message: "expected [\(m.layers), \(m.heads)]")
        }
        return TopThetaThresholds(layers: m.layers, heads: m.heads, maxLength: info.shape[2] - 1, theta: theta,
                                  constants: constants, samples: samples)
    }
}
