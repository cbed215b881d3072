import Accelerator
import AttnCore

/// One layer run as SCALE-Sim 3.0.0 runs it (`single_layer_sim.py`): the array's per-cycle operand
/// demands (`compute/systolic_compute_{os,ws,is}.py`: folds one after another, each filling and
/// draining the array, skewed as the data moves through it) are replayed through the
/// double-buffered SRAM model (`ScaleSimMemory.swift`) in CALC mode, one demand row per cycle,
/// each row delayed by the stalls so far. The fold count and cycles per fold are
/// `SystolicArray`'s; the demand row count equals `SystolicArray.gemm(...).cycles`.
///
/// Demand rows of a fold (local row t, array column or row c; u = t − c where the operand is skewed):
///
/// | dataflow | ifmap (width) | filter (width) | ofmap (width C) |
/// |---|---|---|---|
/// | os | A[rowStart+c][u], u < K (R) | B[u][colStart+c], u < K (C) | row u−(K−1) < R of the fold's outputs, bottom row first |
/// | ws | A[u−R][rowStart+c], R ≤ u < R+M (R) | B[rowStart+R−1−t][colStart+c], t < R, unskewed (C) | out[u−(2R−1)][colStart+c] |
/// | is | A[colStart+c][rowStart+R−1−t], t < R, unskewed (C) | B[rowStart+c][u−R], R ≤ u < R+N (R) | out[colStart+c][u−(2R−1)] |
///
/// with A the im2col ifmap (pixels × window), B the filters (window × filters) and "rowStart",
/// "colStart" the fold's first array row and column in the GEMM dimension mapped on them.
public struct ScaleSimLayerResult: Sendable, Equatable {
    /// COMPUTE_REPORT: "Total Cycles (incl. prefetch)", "Total Cycles", "Stall Cycles".
    public var cyclesInclPrefetch: Int
    public var totalCycles: Int
    public var stallCycles: Int
    /// "Overall Util %", "Mapping Efficiency %", "Compute Util %".
    public var overallUtilPercent: Double
    public var mappingEfficiencyPercent: Double
    public var computeUtilPercent: Double
    /// SRAM traffic in words (SCALE-Sim's request counts) and the cycles of the first and last
    /// demand row with a request.
    public var ifmapSRAMReads: Int, filterSRAMReads: Int, ofmapSRAMWrites: Int
    public var ifmapSRAMStart: Int, ifmapSRAMStop: Int
    public var filterSRAMStart: Int, filterSRAMStop: Int
    public var ofmapSRAMStart: Int, ofmapSRAMStop: Int
    /// DRAM traffic in words and the cycles of the first and last DRAM trace rows.
    public var ifmapDRAMReads: Int, filterDRAMReads: Int, ofmapDRAMWrites: Int
    public var ifmapDRAMStart: Int, ifmapDRAMStop: Int
    public var filterDRAMStart: Int, filterDRAMStop: Int
    public var ofmapDRAMStart: Int, ofmapDRAMStop: Int
    /// Demand rows simulated (= `SystolicArray` cycles of the GEMM).
    public var demandRows: Int
}

public enum ScaleSimLayerSim {
    public static func run(_ layer: ScaleSimLayer, config: ScaleSimConfig) throws(AttnError) -> ScaleSimLayerResult {
        let r = config.arrayRows, c = config.arrayCols
        let pixels = layer.ofmapPixels, window = layer.windowSize, filters = layer.filters
        let df = config.dataflow
        let (onRows, onCols, t) = mapped(df, pixels: pixels, window: window, filters: filters)
        let gemm = SystolicArray(rows: r, cols: c, dataflow: df, schedule: .scalesim).gemm(m: pixels, k: window, n: filters)
        let rowFolds = gemm.rowFolds, colFolds = gemm.colFolds, perFold = gemm.cyclesPerFold
        precondition(rowFolds == ceilDiv(onRows, r) && colFolds == ceilDiv(onCols, c))

        var ifmapBuf = ScaleSimReadBuffer(sizeKB: config.ifmapSRAMKB,
                                          addressCount: layer.ifmapHeight * layer.ifmapWidth * layer.channels)
        var filterBuf = ScaleSimReadBuffer(sizeKB: config.filterSRAMKB, addressCount: window * filters)
        var ofmapBuf = ScaleSimWriteBuffer(sizeKB: config.ofmapSRAMKB, bandwidth: c)

        var ifmapReads = 0, filterReads = 0, ofmapWrites = 0
        var mappingSum = 0.0, utilSum = 0.0
        var stalls = 0
        var row = 0
        var lastOfmapCycle = 0, maxOfmapCycle = Int.min
        var ifStart: Int?, ifStop = 0, fStart: Int?, fStop = 0, oStart: Int?, oStop = 0
        let ifmapWidth = df == .is ? c : r
        let filterWidth = df == .is ? r : c
        var ifRow = [Int](repeating: -1, count: ifmapWidth)
        var fRow = [Int](repeating: -1, count: filterWidth)

        for fc in 0..<colFolds {
            for fr in 0..<rowFolds {
                let rowStart = fr * r, colStart = fc * c
                let usedR = min(r, onRows - rowStart), usedC = min(c, onCols - colStart)
                // SCALE-Sim's per-fold statistics, summed in its order (column folds outer).
                let foldCycles = df == .os ? t + r + c - 2 : (2 * r + c + t - 2) + c - 1
                mappingSum += Double(usedR * usedC) / Double(r * c)
                utilSum += Double(usedR * usedC * t) / Double(r * c * foldCycles)
                let requests = foldRequests(df, t: t, r: r, c: c, usedR: usedR, usedC: usedC)
                (ifmapReads, filterReads, ofmapWrites) = (ifmapReads + requests.0, filterReads + requests.1, ofmapWrites + requests.2)
                for local in 0..<perFold {
                    let cycle = row + stalls
                    let demand = demandRow(df, local: local, fold: Fold(rowStart: rowStart, colStart: colStart, usedR: usedR, usedC: usedC),
                                           r: r, t: t, window: window, layer: layer, ifRow: &ifRow, fRow: &fRow)
                    var nIf = demand.nIf
                    let nF = demand.nF, nO = demand.nO
                    // im2col positions outside the ifmap (−1, see `ifmapAddress`) are not requests.
                    var kept = 0
                    for i in 0..<nIf where ifRow[i] >= 0 { ifRow[kept] = ifRow[i]; kept += 1 }
                    nIf = kept
                    try ifRow.withUnsafeBufferPointer { p throws(AttnError) in try ifmapBuf.service(p, count: nIf, cycle: cycle) }
                    try fRow.withUnsafeBufferPointer { p throws(AttnError) in try filterBuf.service(p, count: nF, cycle: cycle) }
                    let done = try ofmapBuf.service(count: nO, cycle: cycle)
                    // Reads are served one cycle after the request (hit latency 1), writes when done.
                    if nIf > 0 { if ifStart == nil { ifStart = cycle + 1 }; ifStop = cycle + 1 }
                    if nF > 0 { if fStart == nil { fStart = cycle + 1 }; fStop = cycle + 1 }
                    if nO > 0 { if oStart == nil { oStart = done }; oStop = done }
                    stalls += done - cycle
                    lastOfmapCycle = done
                    maxOfmapCycle = max(maxOfmapCycle, done)
                    row += 1
                }
            }
        }
        try ifmapBuf.completeAllPrefetches()
        try filterBuf.completeAllPrefetches()
        try ofmapBuf.emptyAll(cycle: lastOfmapCycle)

        let totalCycles = maxOfmapCycle
        let folds = Double(rowFolds * colFolds)
        return ScaleSimLayerResult(
            cyclesInclPrefetch: ofmapBuf.dramStopCycle - min(ifmapBuf.dramStartCycle, filterBuf.dramStartCycle),
            totalCycles: totalCycles, stallCycles: stalls,
            overallUtilPercent: Double(layer.macs * 100) / Double(totalCycles * r * c),
            mappingEfficiencyPercent: mappingSum / folds * 100, computeUtilPercent: utilSum / folds * 100,
            ifmapSRAMReads: ifmapReads, filterSRAMReads: filterReads, ofmapSRAMWrites: ofmapWrites,
            ifmapSRAMStart: ifStart ?? 0, ifmapSRAMStop: ifStop, filterSRAMStart: fStart ?? 0, filterSRAMStop: fStop,
            ofmapSRAMStart: oStart ?? 0, ofmapSRAMStop: oStop,
            ifmapDRAMReads: ifmapBuf.dramReads, filterDRAMReads: filterBuf.dramReads, ofmapDRAMWrites: ofmapBuf.dramWrites,
            ifmapDRAMStart: ifmapBuf.dramStartCycle, ifmapDRAMStop: ifmapBuf.dramStopCycle,
            filterDRAMStart: filterBuf.dramStartCycle, filterDRAMStop: filterBuf.dramStopCycle,
            ofmapDRAMStart: ofmapBuf.dramStartCycle, ofmapDRAMStop: ofmapBuf.dramStopCycle,
            demandRows: row)
    }

    /// The GEMM dimensions on the array's rows and columns, and the one streamed in time.
    private static func mapped(_ df: SystolicArray.Dataflow, pixels: Int, window: Int, filters: Int) -> (Int, Int, Int) {
        switch df {
        case .os: return (pixels, filters, window)
        case .ws: return (window, filters, pixels)
        case .is: return (window, pixels, filters)
        }
    }

    /// SCALE-Sim's SRAM requests (words) of one fold: ifmap reads, filter reads, ofmap writes.
    private static func foldRequests(_ df: SystolicArray.Dataflow, t: Int, r: Int, c: Int, usedR: Int, usedC: Int) -> (Int, Int, Int) {
        switch df {
        case .os: return (t * usedR, t * usedC, usedR * usedC + r + c)
        case .ws: return (t * usedR, usedR * usedC, t * usedC)
        case .is: return (usedR * usedC, t * usedR, t * usedC)
        }
    }

    /// A fold's first array row and column in the GEMM dimensions mapped on them, and how many are used.
    private struct Fold { var rowStart: Int, colStart: Int, usedR: Int, usedC: Int }

    /// Demand row `local` of a fold (the table above): its ifmap and filter addresses, written to
    /// `ifRow` and `fRow`, their counts, and the count of ofmap writes.
    private static func demandRow(_ df: SystolicArray.Dataflow, local: Int, fold: Fold, r: Int, t: Int, window: Int, layer: ScaleSimLayer,
                                  ifRow: inout [Int], fRow: inout [Int]) -> (nIf: Int, nF: Int, nO: Int) {
        let (rowStart, colStart, usedR, usedC) = (fold.rowStart, fold.colStart, fold.usedR, fold.usedC)
        var nIf = 0, nF = 0, nO = 0
        switch df {
        case .os:
            for col in 0..<usedR {
                let u = local - col
                if u >= 0 && u < t { ifRow[nIf] = layer.ifmapAddress(pixel: rowStart + col, window: u, offset: 0); nIf += 1 }
            }
            for col in 0..<usedC {
                let u = local - col
                if u >= 0 && u < t { fRow[nF] = (colStart + col) * window + u; nF += 1 }
            }
            for col in 0..<usedC {
                let j = local - col - (t - 1)
                if j >= 0 && j < r && r - 1 - j < usedR { nO += 1 }
            }
        case .ws:
            for col in 0..<usedR {
                let u = local - col - r
                if u >= 0 && u < t { ifRow[nIf] = layer.ifmapAddress(pixel: u, window: rowStart + col, offset: 0); nIf += 1 }
            }
            if local < r && r - 1 - local < usedR {
                let w = rowStart + r - 1 - local
                for col in 0..<usedC { fRow[nF] = (colStart + col) * window + w; nF += 1 }
            }
            for col in 0..<usedC {
                let u = local - col - (2 * r - 1)
                if u >= 0 && u < t { nO += 1 }
            }
        case .is:
            if local < r && r - 1 - local < usedR {
                let w = rowStart + r - 1 - local
                for col in 0..<usedC { ifRow[nIf] = layer.ifmapAddress(pixel: colStart + col, window: w, offset: 0); nIf += 1 }
            }
            for col in 0..<usedR {
                let u = local - col - r
                if u >= 0 && u < t { fRow[nF] = u * window + rowStart + col; nF += 1 }
            }
            for col in 0..<usedC {
                let u = local - col - (2 * r - 1)
                if u >= 0 && u < t { nO += 1 }
            }
        }
        return (nIf, nF, nO)
    }
}
