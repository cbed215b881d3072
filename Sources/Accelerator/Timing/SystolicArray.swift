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

    @inlinable static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    /// Cycles, folds and SRAM accesses of an M × K × N GEMM. O(1): closed forms only.
    public func gemm(m: Int, k: Int, n: Int) -> GEMMCost {
        precondition(m >= 0 && k >= 0 && n >= 0)
        if m == 0 || k == 0 || n == 0 { return .zero }
        let r = rows, c = cols
        // Dimensions mapped on the array's rows and columns, and the one streamed through it.
        let (onRows, onCols, streamed): (Int, Int, Int)
        let perFold: Int
        switch dataflow {
        case .os: (onRows, onCols, streamed) = (m, n, k); perFold = k + r + c - 2
        case .ws: (onRows, onCols, streamed) = (k, n, m); perFold = 2 * r + c + m - 2
        case .is: (onRows, onCols, streamed) = (k, m, n); perFold = 2 * r + c + n - 2
        }
        let rowFolds = Self.ceilDiv(onRows, r), colFolds = Self.ceilDiv(onCols, c)
        let folds = rowFolds * colFolds
        let cycles: Int
        switch schedule {
        case .scalesim:
            cycles = folds * perFold
        case .overlapped:
            // Steady part of a fold (operands streaming, plus the R-cycle preload of the stationary
            // operand for ws/is) repeats; the fill and drain skew (R + C − 2) is paid once.
            let steady = dataflow == .os ? streamed : streamed + r
            cycles = folds * steady + (perFold - steady)
        }
        // Mapping efficiency: mean over folds of used PEs / (R·C). Used rows summed over row folds
        // is onRows, and likewise for columns, so the mean is onRows·onCols / (folds·R·C).
        let mapping = Double(onRows * onCols) / Double(folds * r * c)
        let macs = m * k * n
        let aReads: Int, bReads: Int, outWrites: Int
        switch dataflow {
        case .os:
            aReads = m * k * colFolds   // A re-streamed for each column fold
            bReads = k * n * rowFolds
            outWrites = m * n
        case .ws:
            aReads = m * k * colFolds
            bReads = k * n
            outWrites = m * n * rowFolds // partial sums leave the array once per K fold
        case .is:
            aReads = m * k
            bReads = k * n * colFolds
            outWrites = m * n * rowFolds
        }
        return GEMMCost(m: m, k: k, n: n, rowFolds: rowFolds, colFolds: colFolds, cyclesPerFold: perFold,
                        cycles: cycles, macs: macs, mappingEfficiency: mapping,
                        utilization: Double(macs) / Double(r * c * cycles),
                        aReads: aReads, bReads: bReads, outWrites: outWrites)
    }
}
