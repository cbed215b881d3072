import AttnCore

/// The systolic MAC array: R × C processing elements computing an M × K × N GEMM
/// (`out[M][N] = A[M][K] · B[K][N]`) in one of three dataflows.
///
/// Closed forms (SCALE-Sim v3's, read from its source and checked against its reports — see
/// `Scripts/scalesim_golden.py` and `Tests/Fixtures/scalesim/`):
///
/// | dataflow | held in the PEs | folds | cycles per fold |
/// |---|---|---|---|
/// | output stationary (os) | out tile R × C | ⌈M/R⌉·⌈N/C⌉ | K + R + C − 2 |
/// | weight stationary (ws) | B tile R × C (K on rows) | ⌈K/R⌉·⌈N/C⌉ | 2R + C + M − 2 |
/// | input stationary (is) | A tile (K on rows, M on cols) | ⌈K/R⌉·⌈M/C⌉ | 2R + C + N − 2 |
///
/// In `scalesim` mode folds run back to back, each with its own fill and drain, exactly as
/// SCALE-Sim schedules them; AttnSim reports the cycle *count*, SCALE-Sim prints the index of the
/// last cycle (count − 1, its issue #125). In `overlapped` mode the next fold's operands stream in
/// while the previous fold drains, so only the first fill and the last drain are paid:
/// cycles = folds · S + (fill + drain), with S the steady streaming length per fold (K for os, M for
/// ws with R cycles of weight preload, N for is with R cycles of input preload) — a deliberate
/// deviation, documented in docs/model.md.
public struct SystolicArray: Sendable, Equatable {
    public enum Dataflow: String, Sendable, CaseIterable {
        case os, ws, `is`
    }

    public enum FoldSchedule: String, Sendable, CaseIterable {
        /// SCALE-Sim's: every fold fills and drains the array.
        case scalesim
        /// Fill of fold i+1 overlaps the drain of fold i.
        case overlapped
    }

    public var rows: Int
    public var cols: Int
    public var dataflow: Dataflow
    public var schedule: FoldSchedule

    public init(rows: Int = 32, cols: Int = 32, dataflow: Dataflow = .os, schedule: FoldSchedule = .scalesim) {
        precondition(rows > 0 && cols > 0, "array dimensions must be positive")
        self.rows = rows
        self.cols = cols
        self.dataflow = dataflow
        self.schedule = schedule
    }

    /// Cost of one GEMM on this array.
    public struct GEMMCost: Sendable, Equatable {
        public var m: Int, k: Int, n: Int
        /// Folds along the array's rows and columns.
        public var rowFolds: Int
        public var colFolds: Int
        public var folds: Int { rowFolds * colFolds }
        /// Cycles of one (full) fold in SCALE-Sim's schedule.
        public var cyclesPerFold: Int
        /// Total compute cycles (a count, not SCALE-Sim's last-cycle index).
        public var cycles: Int
        /// Multiply-accumulates performed (M·K·N).
        public var macs: Int
        /// Average over folds of the fraction of PEs mapped (SCALE-Sim's "Mapping Efficiency").
        public var mappingEfficiency: Double
        /// MACs / (R·C·cycles).
        public var utilization: Double
        /// Operand elements read from the SRAM buffers (A, B) and output elements written
        /// (partial sums included where the dataflow writes them back, as SCALE-Sim counts).
        public var aReads: Int
        public var bReads: Int
        public var outWrites: Int

        public static let zero = GEMMCost(m: 0, k: 0, n: 0, rowFolds: 0, colFolds: 0, cyclesPerFold: 0, cycles: 0,
                                          macs: 0, mappingEfficiency: 0, utilization: 0, aReads: 0, bReads: 0, outWrites: 0)
    }

    /// Cycles, folds and SRAM accesses of an M × K × N GEMM. O(1): closed forms only. Inside the
    /// simulator the sizes come from traces (at most 2^31 elements per tensor) and the schema-bounded
    /// array (≤ 65,536 × 65,536), so every count fits; `checkedGemm` is the version for sizes a user
    /// types in.
    public func gemm(m: Int, k: Int, n: Int) -> GEMMCost {
        do { return try checkedGemm(m: m, k: k, n: n) } catch { preconditionFailure("GEMM count overflow: \(error)") }
    }

    /// `gemm` with every count computed with checked arithmetic: throws `CountOverflow` naming the
    /// first count (with its formula) that does not fit in 64 bits.
    public func checkedGemm(m: Int, k: Int, n: Int) throws(CountOverflow) -> GEMMCost {
        precondition(m >= 0 && k >= 0 && n >= 0)
        if m == 0 || k == 0 || n == 0 { return .zero }
        typealias C = CheckedCount
        let r = rows, c = cols
        // Dimensions mapped on the array's rows and columns, and the one streamed through it.
        let (onRows, onCols, streamed): (Int, Int, Int)
        let perFold: Int
        switch dataflow {
        case .os: (onRows, onCols, streamed) = (m, n, k); perFold = try C.sum(k, r, c - 2, quantity: "cycles per fold (K + R + C − 2)")
        case .ws: (onRows, onCols, streamed) = (k, n, m); perFold = try C.sum(2 * r, c - 2, m, quantity: "cycles per fold (2R + C + M − 2)")
        case .is: (onRows, onCols, streamed) = (k, m, n); perFold = try C.sum(2 * r, c - 2, n, quantity: "cycles per fold (2R + C + N − 2)")
        }
        let rowFolds = onRows / r + (onRows % r == 0 ? 0 : 1), colFolds = onCols / c + (onCols % c == 0 ? 0 : 1)
        let folds = try C.product(rowFolds, colFolds, quantity: "folds")
        let cycles: Int
        switch schedule {
        case .scalesim:
            cycles = try C.product(folds, perFold, quantity: "cycles (folds × cycles per fold)")
        case .overlapped:
            // Steady part of a fold (operands streaming, plus the R-cycle preload of the stationary
            // operand for ws/is) repeats; the fill and drain skew (R + C − 2) is paid once.
            let steady = dataflow == .os ? streamed : try C.sum(streamed, r, quantity: "cycles per fold")
            cycles = try C.sum(try C.product(folds, steady, quantity: "cycles (folds × steady cycles)"), perFold - steady,
                               quantity: "cycles")
        }
        // Mapping efficiency: mean over folds of used PEs / (R·C). Used rows summed over row folds
        // is onRows, and likewise for columns, so the mean is onRows·onCols / (folds·R·C).
        let mapping = Double(onRows) * Double(onCols) / (Double(folds) * Double(r) * Double(c))
        let macs = try C.product(m, k, n, quantity: "macs (M·K·N)")
        let aReads: Int, bReads: Int, outWrites: Int
        switch dataflow {
        case .os:
            aReads = try C.product(m, k, colFolds, quantity: "SRAM A reads (M·K·column folds)")   // A re-streamed for each column fold
            bReads = try C.product(k, n, rowFolds, quantity: "SRAM B reads (K·N·row folds)")
            outWrites = try C.product(m, n, quantity: "SRAM output writes (M·N)")
        case .ws:
            aReads = try C.product(m, k, colFolds, quantity: "SRAM A reads (M·K·column folds)")
            bReads = try C.product(k, n, quantity: "SRAM B reads (K·N)")
            outWrites = try C.product(m, n, rowFolds, quantity: "SRAM output writes (M·N·row folds)") // partial sums leave the array once per K fold
        case .is:
            aReads = try C.product(m, k, quantity: "SRAM A reads (M·K)")
            bReads = try C.product(k, n, colFolds, quantity: "SRAM B reads (K·N·column folds)")
            outWrites = try C.product(m, n, rowFolds, quantity: "SRAM output writes (M·N·row folds)")
        }
        return GEMMCost(m: m, k: k, n: n, rowFolds: rowFolds, colFolds: colFolds, cyclesPerFold: perFold,
                        cycles: cycles, macs: macs, mappingEfficiency: mapping,
                        utilization: Double(macs) / (Double(r) * Double(c) * Double(cycles)),
                        aReads: aReads, bReads: bReads, outWrites: outWrites)
    }
}

/// What `attnsim gemm` prints for one GEMM: the closed-form cost plus SRAM traffic in bytes, each
/// operand at its own element width (SCALE-Sim counts 1-byte words for everything).
///
/// bytes = elements · ⌈bits / 8⌉ per operand — elements sit in byte-aligned words, the convention of
/// the attention timing model (`AttentionPipeline.bytes`), so a 12-bit operand costs 2 bytes here as
/// there; `scalesimPrintedCycles` = cycles − 1 in `scalesim` mode (SCALE-Sim prints the index of the
/// last cycle, not the count). Every count is checked: one that does not fit in 64 bits is a
/// `CountOverflow` naming it, never a trap.
public struct GemmReport: Sendable, Equatable {
    public var rows: Int, cols: Int
    public var dataflow: SystolicArray.Dataflow
    public var schedule: SystolicArray.FoldSchedule
    public var cost: SystolicArray.GEMMCost
    public var aBits: Int, bBits: Int, outBits: Int

    public var cycles: Int { cost.cycles }
    /// The number SCALE-Sim's COMPUTE_REPORT.csv shows as "Total Cycles" for the same GEMM
    /// (only meaningful in the `scalesim` schedule).
    public var scalesimPrintedCycles: Int { max(cost.cycles - 1, 0) }
    public var folds: Int { cost.folds }
    public var cyclesPerFold: Int { cost.cyclesPerFold }
    /// SCALE-Sim's "Mapping Efficiency %" / 100.
    public var mappingEfficiency: Double { cost.mappingEfficiency }
    /// M·K·N / (R·C·cycles): the fraction of PE-cycles doing a MAC.
    public var computeUtilization: Double { cost.utilization }
    /// SCALE-Sim's "Compute Util %" / 100 (see `SystolicArray.scalesimComputeUtilization`); equals
    /// `computeUtilization` for os, a little lower for ws/is.
    public var scalesimComputeUtilization: Double
    public var aReadBytes: Int, bReadBytes: Int, outWriteBytes: Int
}

extension SystolicArray {
    /// One GEMM's report for the CLI (`attnsim gemm`): O(1), closed forms only.
    public static func gemmReport(m: Int, k: Int, n: Int, rows: Int, cols: Int, dataflow: Dataflow,
                                  mode: FoldSchedule = .scalesim, aBits: Int = 8, bBits: Int = 8,
                                  outBits: Int = 32) throws(CountOverflow) -> GemmReport {
        let array = SystolicArray(rows: rows, cols: cols, dataflow: dataflow, schedule: mode)
        let cost = try array.checkedGemm(m: m, k: k, n: n)
        func bytes(_ elements: Int, _ bits: Int, _ what: String) throws(CountOverflow) -> Int {
            try CheckedCount.product(elements, (bits + 7) / 8, quantity: what)
        }
        return GemmReport(rows: rows, cols: cols, dataflow: dataflow, schedule: mode, cost: cost,
                          aBits: aBits, bBits: bBits, outBits: outBits,
                          scalesimComputeUtilization: array.scalesimComputeUtilization(of: cost),
                          aReadBytes: try bytes(cost.aReads, aBits, "SRAM A read bytes (A reads · ⌈bits/8⌉)"),
                          bReadBytes: try bytes(cost.bReads, bBits, "SRAM B read bytes (B reads · ⌈bits/8⌉)"),
                          outWriteBytes: try bytes(cost.outWrites, outBits, "SRAM output write bytes (writes · ⌈bits/8⌉)"))
    }

    /// SCALE-Sim 3.0.0's "Compute Util %" / 100, reproduced exactly: the mean over folds of
    /// used PEs · T / (R·C·c_f), T the streamed dimension (K os, M ws, N is), where its per-fold
    /// divisor c_f is the fold's cycle count for os but the count + (C − 1) for ws and is (its
    /// `systolic_compute_ws/is.py` take demand-matrix height + width − 1 after appending the drain
    /// rows, which its total-cycle count does not include). Summed over folds the used PEs are
    /// onRows·onCols, so this is M·K·N / (folds·R·C·c_f). Independent of the fold schedule.
    public func scalesimComputeUtilization(m: Int, k: Int, n: Int) -> Double {
        scalesimComputeUtilization(of: gemm(m: m, k: k, n: n))
    }

    /// The same from a GEMM's cost on this array (folds, cycles per fold and MACs do not depend on
    /// the fold schedule, so any schedule's cost will do; nothing here can overflow).
    public func scalesimComputeUtilization(of c: GEMMCost) -> Double {
        guard c.folds > 0 else { return 0 }
        let divisor = c.cyclesPerFold + (dataflow == .os ? 0 : cols - 1)
        return Double(c.macs) / (Double(c.folds) * Double(rows) * Double(cols) * Double(divisor))
    }
}

extension SystolicArray {
    /// The array's work on one key tile: Q·Kᵀ (once per pass) and P·V over the V rows the kept
    /// scores reference (prefill: per head; decode: the group batched as rows).
    public struct AttentionTileCost: Sendable, Equatable {
        /// One pass's Q·Kᵀ GEMM, and the number of passes.
        public var qk: GEMMCost
        public var passes: Int
        /// P·V summed over its GEMMs.
        public var pvCycles = 0, pvMacs = 0, pvAReads = 0, pvBReads = 0, pvOutWrites = 0
        public var qkEnergyPJ = 0.0, pvEnergyPJ = 0.0
        public var qkCycles: Int { qk.cycles * passes }
        public var qkMacs: Int { qk.macs * passes }
    }

    public func attentionTile(_ t: TileWork, workload wl: TimingWorkload, energy e: EnergyTable) -> AttentionTileCost {
        let g = t.queryHeads, m = t.rows, d = t.headDim
        let qk = t.phase == .decode ? gemm(m: g * m, k: d, n: t.width) : gemm(m: m, k: d, n: t.width)
        var c = AttentionTileCost(qk: qk, passes: t.passes)
        func add(_ pv: GEMMCost) {
            c.pvCycles += pv.cycles; c.pvMacs += pv.macs; c.pvAReads += pv.aReads; c.pvBReads += pv.bReads; c.pvOutWrites += pv.outWrites
        }
        switch t.phase {
        case .prefill: for rows in t.headUnions { add(gemm(m: m, k: rows, n: d)) }
        case .decode: add(gemm(m: g * m, k: t.groupUnion, n: d))
        }
        c.qkEnergyPJ = Double(c.qkMacs) * e.macPJ(wl.qBits, wl.kBits, accBits: wl.accBits)
        c.pvEnergyPJ = Double(c.pvMacs) * Self.pvMacPJ(wl, energy: e)
        return c
    }

    /// Energy of one P·V MAC under the probability coding.
    static func pvMacPJ(_ wl: TimingWorkload, energy e: EnergyTable) -> Double {
        switch wl.coding {
        case .fixed: return e.macPJ(wl.probBits, wl.vBits, accBits: wl.accBits)
        case .log: return e.macPJ(8, wl.vBits, accBits: wl.accBits)   // levels held as 8-bit fixed point
        case .logPowerOfTwo: return e.shiftAddPJ(accBits: wl.accBits)
        case .uniform(let b): return e.macPJ(b, wl.vBits, accBits: wl.accBits)
        }
    }
}
