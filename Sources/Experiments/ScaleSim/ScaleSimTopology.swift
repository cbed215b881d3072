import AttnCore
import Foundation

/// One layer of a SCALE-Sim topology, as a convolution (a GEMM row `name, M, N, K` is the
/// convolution SCALE-Sim makes of it: an M × K ifmap, a 1 × K filter, one channel, N filters,
/// stride 1 — `topology_utils.load_arrays_gemm`).
///
/// Lowering to a GEMM (im2col, SCALE-Sim's `topo_calc_hyperparams` and `operand_matrix`):
///   ofmap rows E_h = ⌈(H − R + S_h) / S_h⌉, ofmap cols E_w = ⌈(W − S + S_w) / S_w⌉
///   GEMM M = E_h·E_w (ofmap pixels), K = R·S·C (window), N = F (filters)
///   ifmap address of (pixel p, window element w): with (e_r, e_c) = divmod(p, E_w),
///   (r, k) = divmod(w, S·C), (s, c) = divmod(k, C):
///       offset_i + ((e_r·S_h)·W + e_c·S_w)·C + (r·W + s)·C + c
///   filter address of (w, f) = offset_f + f·R·S·C + w;  ofmap address of (p, f) = offset_o + F·p + f.
public struct ScaleSimLayer: Sendable, Equatable {
    public var name: String
    /// Line of the topology file the layer comes from.
    public var line: Int
    public var ifmapHeight: Int, ifmapWidth: Int
    public var filterHeight: Int, filterWidth: Int
    public var channels: Int, filters: Int
    public var strideHeight: Int, strideWidth: Int

    public var ofmapHeight: Int { (ifmapHeight - filterHeight + strideHeight + strideHeight - 1) / strideHeight }
    public var ofmapWidth: Int { (ifmapWidth - filterWidth + strideWidth + strideWidth - 1) / strideWidth }
    /// GEMM M: ofmap pixels per filter.
    public var ofmapPixels: Int { ofmapHeight * ofmapWidth }
    /// GEMM K: the convolution window.
    public var windowSize: Int { filterHeight * filterWidth * channels }
    /// MACs of the layer (SCALE-Sim's `num_compute`).
    public var macs: Int { ofmapPixels * filters * windowSize }

    /// The ifmap element a PE row reads for ofmap pixel `p` and window element `w` (im2col), or −1
    /// where the window leaves the ifmap: SCALE-Sim's ⌈(W − S + s)/s⌉ counts one more, partial,
    /// window than ⌊(W − S)/s⌋ + 1 when W − S is not a multiple of the stride; its elements outside
    /// the ifmap are no requests (but still count as SRAM reads, as in SCALE-Sim).
    @inlinable
    func ifmapAddress(pixel p: Int, window w: Int, offset: Int) -> Int {
        let er = p / ofmapWidth, ec = p - er * ofmapWidth
        let ir = er * strideHeight, ic = ec * strideWidth
        let rowLength = filterWidth * channels
        let r = w / rowLength, k = w - r * rowLength
        let s = k / channels, c = k - s * channels
        guard r + ir < ifmapHeight, s + ic < ifmapWidth else { return -1 }
        return offset + (ir * ifmapWidth + ic) * channels + (r * ifmapWidth + s) * channels + c
    }
}

public enum ScaleSimTopology {
    public enum Kind: String, Sendable, CaseIterable {
        /// `Layer, M, N, K,` rows (SCALE-Sim's `-i gemm`).
        case gemm
        /// `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,`
        case conv
    }

    public static func load(path: String, kind: Kind, warnings: inout [String]) throws(AttnError) -> [ScaleSimLayer] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AttnError.input(file: path, item: nil, message: "cannot read the topology file (\(error.localizedDescription))")
        }
        return try parse(text, file: path, kind: kind, warnings: &warnings)
    }

    /// Parses a topology the way SCALE-Sim 3.0.0 does: the first line is a header and is skipped,
    /// blank lines are skipped, every row ends with a ',' (SCALE-Sim drops the text after the last
    /// comma), fields are integers. A conv layer whose name contains "DP" is depthwise: SCALE-Sim
    /// runs it as one single-channel layer per channel, and so do we. The optional last field
    /// `N:M` (a sparsity ratio) has no effect unless sparsity is on, which we refuse.
    public static func parse(_ text: String, file: String, kind: Kind, warnings: inout [String]) throws(AttnError) -> [ScaleSimLayer] {
        var layers: [ScaleSimLayer] = []
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let row = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if lineNumber == 1 {
                let fields = row.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                if fields.count > 1, fields.dropFirst().allSatisfy({ Int($0) != nil }) {
                    warnings.append("\(file):1: the first line is taken as the header and skipped, as SCALE-Sim does, but it looks like a layer")
                }
                continue
            }
            if row.isEmpty { continue }
            func fail(_ message: String) -> AttnError { .input(file: "\(file):\(lineNumber)", item: nil, message: message) }
            guard row.hasSuffix(",") else {
                throw fail("expected the row to end with ',' (SCALE-Sim ignores the text after the last comma, so this row would lose its last field)")
            }
            var fields = row.dropLast().split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let name = fields.removeFirst()
            let names: [String]
            switch kind {
            case .gemm: names = ["M", "N", "K"]
            case .conv: names = ["IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter", "Strides"]
            }
            if fields.count == names.count + 1 {
                let ratio = fields.removeLast()
                let parts = ratio.split(separator: ":", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, let n = parts[0], let m = parts[1], n >= 1, m >= n else {
                    throw fail("sparsity ratio: expected N:M with 1 <= N <= M, got '\(ratio)'")
                }
                if n != m {
                    warnings.append("\(file):\(lineNumber): sparsity ratio \(ratio) ignored: [sparsity] SparsitySupport is false (SCALE-Sim ignores it too)")
                }
            }
            guard fields.count == names.count else {
                let hint = kind == .conv && fields.count == 3 ? " (a GEMM row? use -i gemm)"
                    : kind == .gemm && fields.count >= 7 ? " (a conv row? use -i conv)" : ""
                throw fail("expected \(names.count + 1) fields (name, \(names.joined(separator: ", "))) and an optional N:M sparsity ratio, got \(fields.count + 1)\(hint)")
            }
            var values: [Int] = []
            for (field, column) in zip(fields, names) {
                guard let v = Int(field), v >= 1, v <= 1 << 31 else {
                    throw AttnError.input(file: "\(file):\(lineNumber)", item: column, message: "expected a positive integer, got '\(field)'")
                }
                values.append(v)
            }
            switch kind {
            case .gemm:
                let (m, n, k) = (values[0], values[1], values[2])
                layers.append(ScaleSimLayer(name: name, line: lineNumber, ifmapHeight: m, ifmapWidth: k, filterHeight: 1,
                                            filterWidth: k, channels: 1, filters: n, strideHeight: 1, strideWidth: 1))
            case .conv:
                let layer = ScaleSimLayer(name: name, line: lineNumber, ifmapHeight: values[0], ifmapWidth: values[1],
                                          filterHeight: values[2], filterWidth: values[3], channels: values[4],
                                          filters: values[5], strideHeight: values[6], strideWidth: values[6])
                guard layer.filterHeight <= layer.ifmapHeight else {
                    throw AttnError.input(file: "\(file):\(lineNumber)", item: "Filter Height", message: "\(layer.filterHeight) is larger than the IFMAP Height \(layer.ifmapHeight)")
                }
                guard layer.filterWidth <= layer.ifmapWidth else {
                    throw AttnError.input(file: "\(file):\(lineNumber)", item: "Filter Width", message: "\(layer.filterWidth) is larger than the IFMAP Width \(layer.ifmapWidth)")
                }
                if name.contains("DP") {
                    for channel in 0..<layer.channels {
                        var one = layer
                        one.name = name + "Channel_\(channel)"
                        one.channels = 1
                        layers.append(one)
                    }
                } else {
                    layers.append(layer)
                }
            }
        }
        guard !layers.isEmpty else {
            throw AttnError.input(file: file, item: nil, message: "no layers (the first line is the header; layers follow, one per line)")
        }
        return layers
    }
}
