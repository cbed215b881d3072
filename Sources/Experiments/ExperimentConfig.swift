import Accelerator
import AttnCore
import Foundation

/// One fully resolved experiment: which traces, which phases, how to calibrate, and the hardware and
/// attention configuration. A sweep point is one of these. See docs/config-reference.md.
public struct ExperimentConfig: Sendable {
    public var traces: [String]
    public var phases: [HeadActivity.Phase]
    /// Trace sequences used to calibrate Top-θ thresholds; never evaluated.
    public var calibrationSequences: [Int]
    /// Precomputed thresholds (`attnsim calibrate --out`), instead of calibrating in-process.
    public var thresholdsFile: String?
    /// Calibrate on `calibrationSequences` of this trace instead of the replayed one (every sequence
    /// of the replayed trace is then evaluated).
    public var calibrationTrace: String?
    /// Evaluate only these sequences (nil: every sequence not used for calibration).
    public var evaluationSequences: [Int]?
    /// Replay only the first N positions of each evaluated sequence (causal traces: exactly an
    /// N-token prefix's recording; later rows, decode rows included, are dropped).
    public var evaluationPositions: Int?
    public var allowNonFinite: Bool
    public var hardware: HardwareConfig
    public var attention: AttentionConfig

    /// The normalized config (defaults filled, paths as given) — what `config_id` hashes.
    public var node: ConfigNode {
        var top: [(String, ConfigNode)] = [
            ("traces", .sequence(traces.map { .string($0) })),
            ("phases", .sequence(phases.map { .string($0.rawValue) })),
            ("calibration", .mapping([("sequences", .sequence(calibrationSequences.map { .int($0) }))]
                                     + (thresholdsFile.map { [("thresholds", ConfigNode.string($0))] } ?? [])
                                     + (calibrationTrace.map { [("trace", ConfigNode.string($0))] } ?? []))),
        ]
        var ev: [(String, ConfigNode)] = [("allow_nonfinite", .bool(allowNonFinite))]
        if let e = evaluationSequences { ev.append(("sequences", .sequence(e.map { .int($0) }))) }
        if let n = evaluationPositions { ev.append(("positions", .int(n))) }
        top.append(("evaluation", .mapping(ev)))
        top.append(("hardware", hardware.configNode))
        top.append(("attention", attention.configNode))
        return .mapping(top)
    }

    public var configID: String { node.configID }

    /// The part of the config that changes what is computed (functional results are shared by every
    /// point with the same arithmetic key and trace).
    public var arithmeticKey: String {
        ConfigNode.mapping([("attention", attention.configNode),
                            ("calibration", .sequence(calibrationSequences.map { .int($0) })),
                            ("thresholds", .string(thresholdsFile ?? "")),
                            ("calibration_trace", .string(calibrationTrace ?? "")),
                            ("evaluation", .sequence((evaluationSequences ?? [-1]).map { .int($0) })),
                            ("positions", .int(evaluationPositions ?? 0)),
                            ("allow_nonfinite", .bool(allowNonFinite))]).configID
    }
}

extension ExperimentConfig {
    /// Decodes a resolved config document (no `sweep:`/`zip:`/`base:` left). Trace paths are taken
    /// relative to `baseDirectory` (the config file's directory) unless absolute.
    public init(from node: ConfigNode, baseDirectory: String) throws(AttnError) {
        let r = try ConfigReader(node)
        guard let traceNames = try r.optionalStrings("traces", count: 1...10_000) else {
            throw r.error(nil, "missing 'traces': a list of trace files (.safetensors) to replay")
        }
        traces = traceNames.map { name in
            name.hasPrefix("/") ? name : (baseDirectory as NSString).appendingPathComponent(name)
        }
        let phaseNames = try r.strings("phases", default: ["prefill", "decode"], count: 1...2)
        var phases: [HeadActivity.Phase] = []
        for p in phaseNames {
            guard let ph = HeadActivity.Phase(rawValue: p) else {
                throw r.error("phases", "expected prefill and/or decode, got '\(p)'")
            }
            if !phases.contains(ph) { phases.append(ph) }
        }
        self.phases = phases
        let cal = try r.child("calibration")
        let calibration = try cal.ints("sequences", default: [0], range: 0...1_000_000)
        calibrationSequences = calibration
        thresholdsFile = try cal.optionalString("thresholds", nonEmpty: true).map { name in
            name.hasPrefix("/") ? name : (baseDirectory as NSString).appendingPathComponent(name)
        }
        calibrationTrace = try cal.optionalString("trace", nonEmpty: true).map { name in
            name.hasPrefix("/") ? name : (baseDirectory as NSString).appendingPathComponent(name)
        }
        if calibrationTrace != nil, thresholdsFile != nil {
            throw cal.error("trace", "give calibration.trace (calibrate on that trace) or calibration.thresholds (a file written by attnsim calibrate), not both")
        }
        let ev = try r.child("evaluation")
        evaluationSequences = try ev.optionalInts("sequences", range: 0...1_000_000, count: 1...1_000_000)
        evaluationPositions = try ev.optionalInt("positions", range: 1...1_000_000_000)
        allowNonFinite = try ev.bool("allow_nonfinite", default: false)
        if calibrationTrace == nil, let e = evaluationSequences, let both = e.first(where: { calibration.contains($0) }) {
            throw ev.error("sequences", "sequence \(both) is also a calibration sequence; calibration and evaluation must be disjoint")
        }
        hardware = try HardwareConfig(from: try r.child("hardware"))
        let attentionSection = try r.child("attention")
        attention = try AttentionConfig(from: attentionSection)
        try hardware.checkDataflow(supports: attention, section: attentionSection)
        if case .topTheta(let t) = attention.pruning, t.calibTAC, let n = attentionSection.node("pruning"),
           let pr = try? ConfigReader(n, path: "attention.pruning") {
            throw pr.error("calib_tac", "needs the model in the loop (attnsim eval): a trace's Q, K, V were recorded under exact attention, so deeper layers cannot see sparsified inputs")
        }
        r.allow("sweep", "zip", "base")
        try r.finish()
    }
}

/// A sweep point: its index in the expansion, the resolved config and the swept values.
public struct ExperimentPoint: Sendable {
    public var index: Int
    public var config: ExperimentConfig
    public var swept: [SweptValue]
    public var configID: String { config.configID }
}

public enum ExperimentLoader {
    /// Loads `path` (with `base:` chains), applies `--set key=value` overrides, expands the sweep and
    /// decodes every point. Errors point into the file (and line) the bad value came from.
    public static func load(path: String, overrides: [String] = [], maxPoints: Int = ConfigSweep.defaultMaxPoints,
                            allowSweep: Bool = true) throws(AttnError) -> [ExperimentPoint] {
        var doc = try ConfigLoader.load(path: path)
        for o in overrides { try ConfigLoader.applyOverride(o, to: &doc, flag: "--set") }
        if !allowSweep, let s = doc["sweep"] ?? doc["zip"] {
            throw s.location.error("this config has a sweep; run it with 'attnsim sweep' (or remove sweep:/zip:)")
        }
        let base = (path as NSString).deletingLastPathComponent
        let points = try ConfigSweep.expand(doc, maxPoints: maxPoints)
        var out: [ExperimentPoint] = []
        out.reserveCapacity(points.count)
        for p in points {
            let cfg = try ExperimentConfig(from: p.config, baseDirectory: base.isEmpty ? "." : base)
            out.append(ExperimentPoint(index: p.index, config: cfg, swept: p.sweptValues))
        }
        return out
    }
}
