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
    /// Replay the last D replayed rows of each evaluated sequence as decode steps (prompt = the
    /// replayed length − D): in a causal trace row i is exactly a decode step at context i + 1.
    public var evaluationDecodeSteps: Int?
    public var allowNonFinite: Bool
    public var hardware: HardwareConfig
    public var attention: AttentionConfig

    /// The normalized config (defaults filled, paths joined to the config's directory) — what
    /// `config_id` hashes.
    public var node: ConfigNode { ConfigSchema.node(of: self) }

    public var configID: String { node.configID }

    /// Whether the functional model computes the decode rows only (phases without prefill): the
    /// prompt rows cost nothing then, and no report row shows them.
    public var decodeRowsOnly: Bool { !phases.contains(.prefill) }

    /// Which rows of each evaluated sequence the functional model computes, and as which phase
    /// (configurations computed together must agree on it).
    var replayedRows: String {
        "\(evaluationPositions ?? 0)/\(evaluationDecodeSteps ?? 0)/\(decodeRowsOnly)"
    }

    /// The files this config reads besides the config chain: its traces, the thresholds file and the
    /// calibration trace (the inputs an output may never be: `OutputGuard`).
    public var inputFiles: [String] {
        traces + (thresholdsFile.map { [$0] } ?? []) + (calibrationTrace.map { [$0] } ?? [])
    }

    /// The part of the config that changes what is computed (functional results are shared by every
    /// point with the same arithmetic key and trace).
    public var arithmeticKey: String {
        ConfigNode.mapping([("attention", attention.configNode),
                            ("calibration", .sequence(calibrationSequences.map { .int($0) })),
                            ("thresholds", .string(thresholdsFile ?? "")),
                            ("calibration_trace", .string(calibrationTrace ?? "")),
                            ("evaluation", .sequence((evaluationSequences ?? [-1]).map { .int($0) })),
                            ("positions", .int(evaluationPositions ?? 0)),
                            ("decode_steps", .int(evaluationDecodeSteps ?? 0)),
                            ("decode_rows_only", .bool(decodeRowsOnly)),
                            ("allow_nonfinite", .bool(allowNonFinite))]).configID
    }
}

extension ExperimentConfig: ConfigSection {
    /// Every key at its default (no traces).
    public init() {
        self.init(traces: [], phases: [.prefill, .decode], calibrationSequences: [0], thresholdsFile: nil,
                  evaluationSequences: nil, allowNonFinite: false, hardware: HardwareConfig(), attention: AttentionConfig())
    }

    /// Decodes a resolved config document (no `sweep:`/`zip:`/`base:` left). Trace paths are taken
    /// relative to `baseDirectory` (the config file's directory) unless absolute.
    public init(from node: ConfigNode, baseDirectory: String) throws(AttnError) {
        self = try ConfigSchema.decode(from: try ConfigReader(node), baseDirectory: baseDirectory)
    }

    /// Every top-level key of a trace-replay config, declared once (docs/config-reference.md is
    /// rendered from this list and checked against it by a test).
    public static let keys: [ConfigKey<ExperimentConfig>] = [
        .strings("traces", \.traces, count: 1...10_000, isPath: true,
                 missing: "missing 'traces': a list of trace files (.safetensors) to replay", defaultText: "— (required)",
                 doc: "trace files (.safetensors) to replay, relative to the config file"),
        .choices("phases", \.phases, count: 1...2, doc: "phases to report"),
        .ints("calibration.sequences", \.calibrationSequences, range: 0...1_000_000,
              doc: "trace sequences for Top-θ calibration; never evaluated"),
        .optionalPath("calibration.thresholds", \.thresholdsFile,
                      doc: "a thresholds file written by `attnsim calibrate --out`, used instead of calibrating in-process"),
        .optionalPath("calibration.trace", \.calibrationTrace,
                      doc: "calibrate Top-θ on `calibration.sequences` of this trace (same layers and heads) instead of the replayed one, whose sequences are then all evaluated; calibrated once per run for every replayed trace; not with `calibration.thresholds`. Rows longer than the calibration trace's use its longest calibrated length's threshold",
                      check: { (c, s) throws(AttnError) in
                          if c.calibrationTrace != nil, c.thresholdsFile != nil {
                              throw try s.reader("calibration").error("trace", "give calibration.trace (calibrate on that trace) or calibration.thresholds (a file written by attnsim calibrate), not both")
                          }
                      }),
        // allow_nonfinite before sequences: the order the canonical config has always written them in.
        .bool("evaluation.allow_nonfinite", \.allowNonFinite, doc: "accept NaN/Inf in traces"),
        .optionalInts("evaluation.sequences", \.evaluationSequences, range: 0...1_000_000, count: 1...1_000_000,
                      defaultText: "every sequence not used for calibration (all of them with `calibration.trace`)", doc: "sequences to evaluate (disjoint from calibration)",
                      check: { (c, s) throws(AttnError) in
                          if c.calibrationTrace == nil, let e = c.evaluationSequences, let both = e.first(where: { c.calibrationSequences.contains($0) }) {
                              throw try s.reader("evaluation").error("sequences", "sequence \(both) is also a calibration sequence; calibration and evaluation must be disjoint")
                          }
                      }),
        .optionalInt("evaluation.positions", \.evaluationPositions, range: 1...1_000_000_000, defaultText: "— (all)",
                     doc: "replay only the first N positions of each evaluated sequence: for a causal trace exactly the recording of an N-token prefix (row i sees keys 0…i only); rows from N on, decode rows included, are dropped, so N ≤ the prompt leaves no decode rows. An error for a bidirectional trace or when N exceeds a sequence's positions"),
        .optionalInt("evaluation.decode_steps", \.evaluationDecodeSteps, range: 1...1_000_000_000, defaultText: "— (the trace's own prompt)",
                     doc: "replay the last D replayed rows of each evaluated sequence (of the first `evaluation.positions`, else of all of it) as D decode steps, the rows before them as the prompt: in a causal trace row i sees keys 0…i exactly as a decode step at context i + 1, so any prefix can be costed as a prompt plus D steps. Needs `decode` in `phases`, D ≤ `evaluation.positions` and a causal trace. With `phases: [decode]` only the decode rows are computed (also without this key): the same report rows as computing every row, except `saturation_events`, where a head's Q·Kᵀ accumulator saturations count with the first phase computed (prefill when every row is)",
                     check: { (c, s) throws(AttnError) in
                         guard let d = c.evaluationDecodeSteps else { return }
                         if !c.phases.contains(.decode) {
                             throw try s.reader("evaluation").error("decode_steps", "evaluation.decode_steps = \(d) makes decode rows, but phases \(c.phases.map(\.rawValue)) does not report decode; add decode to phases (or use evaluation.positions = N − D for a prefill of the prompt alone)")
                         }
                         if let n = c.evaluationPositions, d > n {
                             throw try s.reader("evaluation").error("decode_steps", "evaluation.decode_steps = \(d) exceeds evaluation.positions = \(n): the decode steps are the last D of the N replayed rows")
                         }
                     }),
        .section("hardware", \.hardware, doc: "the accelerator's hardware: the `hardware:` table below"),
        .section("attention", \.attention, doc: "the accelerator's arithmetic: the `attention:` table below",
                 check: { (c, s) throws(AttnError) in
                     let section = try s.reader("attention")
                     try c.hardware.checkDataflow(supports: c.attention, section: section)
                     if case .topTheta(let t) = c.attention.pruning, t.calibTAC, let n = section.node("pruning"),
                        let pr = try? ConfigReader(n, path: "attention.pruning") {
                         throw pr.error("calib_tac", "needs the model in the loop (attnsim eval): a trace's Q, K, V were recorded under exact attention, so deeper layers cannot see sparsified inputs")
                     }
                 }),
    ] + ConfigSweep.keys()
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
