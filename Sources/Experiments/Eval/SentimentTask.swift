import Accelerator
import AttnCore
import Foundation
import ReferenceModels

/// The lines of a text file, with Python's universal newlines (\n, \r\n and \r end a line).
func textLines(_ data: Data) -> [Substring] {
    textLines(String(decoding: data, as: UTF8.self))
}

/// `textLines` of a decoded text.
func textLines(_ text: String) -> [Substring] {
    text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
}

/// The movie-review snippets of Hutto & Gilbert (ICWSM 2014, in the vaderSentiment sdist): one
/// `id <TAB> mean rating <TAB> sentence` per line, ratings −4…+4.
public struct MovieReview: Sendable, Equatable {
    public var line: Int
    public var rating: Double
    public var text: String
    public var positive: Bool { rating > 0 }
}

public enum MovieReviews {
    public static func load(_ path: String) throws(AttnError) -> [MovieReview] {
        let data = try InputFile.read(path, kind: "the movie-review file (Scripts/fetch-assets downloads it)")
        var out: [MovieReview] = []
        var lineNo = 0
        for line in textLines(data) {
            lineNo += 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let rating = Double(fields[1]), rating.isFinite else {
                throw AttnError.input(file: path, item: "line \(lineNo)", message: "expected 'id<TAB>rating<TAB>sentence' with a numeric rating")
            }
            out.append(MovieReview(line: lineNo, rating: rating, text: String(fields[2])))
        }
        guard !out.isEmpty else { throw AttnError.input(file: path, item: nil, message: "no review lines") }
        return out
    }

    /// Drops |rating| < minAbs, shuffles with SplitMix64(seed), and returns the first `test` as the
    /// test split and the next `train` (0: all the rest) as the training split.
    public static func split(_ reviews: [MovieReview], minAbsRating: Double, seed: UInt64, test: Int, train: Int,
                             file: String) throws(AttnError) -> (train: [MovieReview], test: [MovieReview]) {
        var labelled = reviews.filter { abs($0.rating) >= minAbsRating }
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&labelled)
        guard labelled.count > test else {
            throw AttnError.input(file: file, item: nil, message: "\(labelled.count) sentences with |rating| ≥ \(minAbsRating), not enough for \(test) test sentences and a training split")
        }
        let rest = labelled[test...]
        guard train <= rest.count else {
            throw AttnError.input(file: file, item: nil, message: "train_sentences = \(train), but only \(rest.count) labelled sentences are left after the \(test) test sentences")
        }
        let trainSplit = train == 0 ? Array(rest) : Array(rest.prefix(train))
        return (trainSplit, Array(labelled.prefix(test)))
    }
}

/// A logistic-regression head on standardized features, fitted by Newton's method (IRLS) on
/// mean log-loss + (l2/2)·‖w‖² (bias not regularized): deterministic, and the same objective as
/// Scripts/eval_golden.py's numpy probe.
public struct LogisticProbe: Sendable, Equatable {
    public var mean: [Double]
    public var std: [Double]
    public var weights: [Double]
    public var bias: Double
    public var metadata: [String: String] = [:]

    public var dimension: Int { weights.count }

    public func logit(_ x: [Float]) -> Double {
        var z = bias
        for j in 0..<weights.count { z += weights[j] * (Double(x[j]) - mean[j]) / std[j] }
        return z
    }

    public func predict(_ x: [Float]) -> Bool { logit(x) > 0 }

    public static func train(_ features: [[Float]], _ labels: [Bool], l2: Double, iterations: Int = 50) -> LogisticProbe {
        let n = features.count, d = features[0].count
        var mean = [Double](repeating: 0, count: d), std = [Double](repeating: 0, count: d)
        for x in features { for j in 0..<d { mean[j] += Double(x[j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        for x in features { for j in 0..<d { let t = Double(x[j]) - mean[j]; std[j] += t * t } }
        for j in 0..<d { std[j] = max((std[j] / Double(n)).squareRoot(), 1e-12) }
        // Design matrix with a leading 1 column for the bias: [n, d + 1].
        let m = d + 1
        var xs = [Double](repeating: 0, count: n * m)
        for (i, x) in features.enumerated() {
            xs[i * m] = 1
            for j in 0..<d { xs[i * m + 1 + j] = (Double(x[j]) - mean[j]) / std[j] }
        }
        let y = labels.map { $0 ? 1.0 : 0.0 }
        var w = [Double](repeating: 0, count: m)
        for _ in 0..<iterations {
            var grad = [Double](repeating: 0, count: m)
            var hess = [Double](repeating: 0, count: m * m)
            for i in 0..<n {
                var z = 0.0
                for j in 0..<m { z += xs[i * m + j] * w[j] }
                let p = 1 / (1 + exp(-z))
                let r = (p - y[i]) / Double(n), s = p * (1 - p) / Double(n)
                for j in 0..<m {
                    let xj = xs[i * m + j]
                    grad[j] += r * xj
                    let sx = s * xj
                    for k in j..<m { hess[j * m + k] += sx * xs[i * m + k] }
                }
            }
            for j in 1..<m { grad[j] += l2 * w[j]; hess[j * m + j] += l2 }
            for j in 0..<m { for k in 0..<j { hess[j * m + k] = hess[k * m + j] } }
            let step = choleskySolve(hess, grad, m)
            var largest = 0.0
            for j in 0..<m { w[j] -= step[j]; largest = max(largest, abs(step[j])) }
            if largest < 1e-10 { break }
        }
        return LogisticProbe(mean: mean, std: std, weights: Array(w[1...]), bias: w[0])
    }

    /// Solves A x = b for a symmetric positive-definite A ([m, m] row-major).
    static func choleskySolve(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var l = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0...i {
                var s = a[i * m + j]
                for k in 0..<j { s -= l[i * m + k] * l[j * m + k] }
                if i == j { l[i * m + i] = max(s, 1e-300).squareRoot() } else { l[i * m + j] = s / l[j * m + j] }
            }
        }
        var y = [Double](repeating: 0, count: m)
        for i in 0..<m {
            var s = b[i]
            for k in 0..<i { s -= l[i * m + k] * y[k] }
            y[i] = s / l[i * m + i]
        }
        var x = [Double](repeating: 0, count: m)
        for i in stride(from: m - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<m { s -= l[k * m + i] * x[k] }
            x[i] = s / l[i * m + i]
        }
        return x
    }

    // MARK: - File (safetensors: F64 tensors weight, bias, mean, std; the split in the metadata)

    public func write(to path: String) throws(AttnError) {
        var w = SafetensorsWriter(metadata: metadata.merging(["format": "attnsim-logistic-probe-1"]) { a, _ in a })
        func add(_ name: String, _ v: [Double]) {
            var bytes: [UInt8] = []
            for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            w.add(name, dtype: .f64, shape: [v.count], bytes: bytes)
        }
        add("weight", weights)
        add("bias", [bias])
        add("mean", mean)
        add("std", std)
        try w.write(to: path)
    }

    public static func load(_ path: String) throws(AttnError) -> LogisticProbe {
        let f = try SafetensorsFile(path: path)
        guard f.metadata["format"] == "attnsim-logistic-probe-1" else {
            throw AttnError.input(file: path, item: "__metadata__.format", message: "not an attnsim probe head (expected format attnsim-logistic-probe-1)")
        }
        func read(_ name: String, count: Int?) throws(AttnError) -> [Double] {
            let t = try f.info(name)
            guard t.dtype == .f64, t.shape.count == 1, count == nil || t.shape[0] == count! else {
                throw AttnError.input(file: path, item: name, message: "expected F64 [\(count.map(String.init) ?? "D")], found \(t.dtype.rawValue) \(t.shape)")
            }
            let values: [Double]
            do {
                values = try f.withBytes(name) { raw in
                    (0..<t.shape[0]).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
                }
            } catch { throw AttnError.input(file: path, item: name, message: "unreadable: \(error)") }
            guard values.allSatisfy(\.isFinite) else { throw AttnError.input(file: path, item: name, message: "non-finite values") }
            return values
        }
        let weights = try read("weight", count: nil)
        let probe = LogisticProbe(mean: try read("mean", count: weights.count), std: try read("std", count: weights.count),
                                  weights: weights, bias: try read("bias", count: 1)[0], metadata: f.metadata)
        if let bad = probe.std.firstIndex(where: { $0 <= 0 }) {
            throw AttnError.input(file: path, item: "std", message: "element \(bad) is not positive")
        }
        return probe
    }
}

/// A 95% Wilson score interval for a proportion of `n` trials.
public func wilsonInterval(successes: Int, trials n: Int, z: Double = 1.959963984540054) -> (low: Double, high: Double) {
    guard n > 0 else { return (0, 1) }
    let p = Double(successes) / Double(n), nn = Double(n)
    let denom = 1 + z * z / nn
    let center = (p + z * z / (2 * nn)) / denom
    let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / denom
    return (max(0, center - half), min(1, center + half))
}

extension BertEncoder {
    /// Sentence embeddings of `texts` in order, run in batches of similar length through `seam`
    /// (sequence index = position in `texts`).
    public func embeddings(_ texts: [String], maxTokens: Int, batch: Int, seam: any AttentionSeam) throws(AttnError) -> [[Float]] {
        let ids = texts.map { tokenizer.encode($0, maxLength: maxTokens) }
        let order = ids.indices.sorted { (ids[$0].count, $0) < (ids[$1].count, $1) }
        var out = [[Float]](repeating: [], count: texts.count)
        var start = 0
        while start < order.count {
            let chunk = Array(order[start..<min(start + batch, order.count)])
            // Sequence numbers (unique per sentence) follow the sorted order.
            let results = try forward(batch: chunk.map { ids[$0] }, seam: seam, firstSequence: start)
            for (b, i) in chunk.enumerated() { out[i] = results[b].embedding }
            start += batch
        }
        return out
    }
}
