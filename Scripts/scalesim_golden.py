#!/usr/bin/env python3
"""Runs real SCALE-Sim (pip install scalesim==3.0.0 'numpy<2') on a list of dense GEMMs and writes
its compute cycles and SRAM access counts to Tests/Fixtures/scalesim/compute_cycles.csv, the golden
data for AttnSim's systolic-array model.

    python3 -m venv ${VENV:-/tmp/scalesim-venv}
    ${VENV:-/tmp/scalesim-venv}/bin/pip install scalesim==3.0.0 'numpy<2'
    ${VENV:-/tmp/scalesim-venv}/bin/python Scripts/scalesim_golden.py

SCALE-Sim simulates addresses cycle by cycle, so the GEMMs are kept small (a few minutes in all).
A GEMM row in its topology is `name, M, N, K` (M output rows, N output columns, K the reduction).
"""
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "scalesim", "compute_cycles.csv")

# (rows, cols) of the array and (M, K, N) of the GEMM.
CASES = [
    ((4, 4), (4, 4, 4)), ((4, 4), (7, 13, 5)), ((4, 4), (9, 3, 10)), ((8, 16), (20, 8, 33)),
    ((16, 8), (20, 8, 33)), ((8, 8), (64, 32, 64)), ((8, 4), (5, 17, 11)), ((2, 8), (3, 9, 6)),
    ((16, 16), (128, 64, 128)), ((16, 16), (128, 128, 64)), ((32, 32), (64, 64, 64)), ((32, 8), (40, 24, 12)),
    ((4, 4), (1, 64, 16)), ((8, 8), (1, 32, 40)),
]

CFG = """[general]
run_name = golden

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:  4096
FilterSramSzkB: 4096
OfmapSramSzkB:  4096
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {df}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

LAYOUT = """Layer name, IFMAP SRAM Block Order Dimension 1, IFMAP SRAM Block Order Dimension 2, IFMAP SRAM Block Order Dimension 3, IFMAP SRAM Block Dimension 1, IFMAP SRAM Block Dimension 2, IFMAP SRAM Block Dimension 3, FILTER SRAM Block Order Dimension 1, FILTER SRAM Block Order Dimension 2, FILTER SRAM Block Order Dimension 3, FILTER SRAM Block Dimension 1, FILTER SRAM Block Dimension 2, FILTER SRAM Block Dimension 3,
gemm, 0, 1, 2, 1, 1, 1, 0, 1, 2, 1, 1, 1,
"""


def run(rows, cols, df, m, k, n):
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "c.cfg")
        topo = os.path.join(d, "t.csv")
        layout = os.path.join(d, "l.csv")
        open(cfg, "w").write(CFG.format(rows=rows, cols=cols, df=df))
        open(topo, "w").write(f"Layer, M, N, K,\ngemm, {m}, {n}, {k},\n")
        open(layout, "w").write(LAYOUT)
        out = os.path.join(d, "out")
        subprocess.run([sys.executable, "-m", "scalesim.scale", "-c", cfg, "-t", topo, "-l", layout,
                        "-i", "gemm", "-p", out, "-s", "N"], check=True, capture_output=True, cwd=d)
        res = os.path.join(out, "golden")
        comp = list(csv.DictReader(open(os.path.join(res, "COMPUTE_REPORT.csv")), skipinitialspace=True))[0]
        det = list(csv.DictReader(open(os.path.join(res, "DETAILED_ACCESS_REPORT.csv")), skipinitialspace=True))[0]
        return comp, det


def main():
    rows_out = []
    for (rows, cols), (m, k, n) in CASES:
        for df in ("os", "ws", "is"):
            comp, det = run(rows, cols, df, m, k, n)
            rows_out.append({
                "rows": rows, "cols": cols, "dataflow": df, "m": m, "k": k, "n": n,
                "total_cycles": comp["Total Cycles"].strip(),
                "stall_cycles": comp["Stall Cycles"].strip(),
                "mapping_efficiency_percent": comp["Mapping Efficiency %"].strip(),
                "compute_util_percent": comp["Compute Util %"].strip(),
                "ifmap_sram_reads": det["SRAM IFMAP Reads"].strip(),
                "filter_sram_reads": det["SRAM Filter Reads"].strip(),
                "ofmap_sram_writes": det["SRAM OFMAP Writes"].strip(),
            })
            print(rows_out[-1], flush=True)
    with open(OUT, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows_out[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(rows_out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
