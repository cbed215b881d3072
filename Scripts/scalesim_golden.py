#!/usr/bin/env python3
"""Runs real SCALE-Sim (pip install scalesim==3.0.0 'numpy<2') and writes the golden data for AttnSim's
systolic-array model and for `attnsim scalesim`:

- `cycles`: a list of dense GEMMs -> Tests/Fixtures/scalesim/compute_cycles.csv (compute cycles and
  SRAM access counts);
- `reports`: whole SCALE-Sim runs (GEMM and conv topologies, several dataflows and SRAM sizes) ->
  Tests/Fixtures/scalesim/reports/<case>/ with the cfg and topology given to SCALE-Sim and the
  COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv it wrote, byte for byte.

    Scripts/scalesim_golden.sh [cycles|reports|all] [CASE...]   # venv at $SCALESIM_VENV (default .venvs/scalesim)

or by hand: python3 -m venv V && V/bin/pip install scalesim==3.0.0 'numpy<2' &&
V/bin/python Scripts/scalesim_golden.py. SCALE-Sim simulates addresses cycle by cycle, so the GEMMs
are kept small (about 1-2 minutes in all, one SCALE-Sim process at a time).
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
    # Attention shapes on a 32×32 array (Q·Kᵀ and P·V of a 128-row tile, head_dim 64), a GQA decode
    # step (4 query heads × 64 dims × 96 keys) and an odd shape: ~1 min in all.
    ((32, 32), (128, 64, 128)), ((32, 32), (128, 128, 64)), ((32, 32), (4, 64, 96)), ((32, 32), (7, 13, 5)),
]

# SCALE-Sim's own configs/scale.cfg with the array, SRAM sizes and dataflow as parameters.
CFG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   {ifmap}
FilterSramSzkB:  {filt}
OfmapSramSzkB:   {ofmap}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {df}
MemoryBanks:   1
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
        open(cfg, "w").write(CFG.format(name="golden", rows=rows, cols=cols, df=df, ifmap=4096, filt=4096, ofmap=4096))
        open(topo, "w").write(f"Layer, M, N, K,\ngemm, {m}, {n}, {k},\n")
        open(layout, "w").write(LAYOUT)
        out = os.path.join(d, "out")
        subprocess.run([sys.executable, "-m", "scalesim.scale", "-c", cfg, "-t", topo, "-l", layout,
                        "-i", "gemm", "-p", out, "-s", "N"], check=True, capture_output=True, cwd=d)
        res = os.path.join(out, "golden")
        comp = list(csv.DictReader(open(os.path.join(res, "COMPUTE_REPORT.csv")), skipinitialspace=True))[0]
        det = list(csv.DictReader(open(os.path.join(res, "DETAILED_ACCESS_REPORT.csv")), skipinitialspace=True))[0]
        return comp, det


def main_cycles():
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


# Whole-run cases for `attnsim scalesim`: (name, input type, cfg fields, topology rows). The cfg is
# SCALE-Sim's own configs/scale.cfg with the fields below changed. Small SRAMs (1-2 kB) make the
# double-buffered prefetch and drain logic fire many times; 4096 kB keeps everything in one prefetch.
GEMM_LAYERS = ["g0, 20, 33, 8,", "g1, 64, 64, 32,", "g2, 5, 11, 17,", "g3, 1, 40, 32,"]
CONV_LAYERS = [
    "c0, 10, 10, 3, 3, 4, 8, 1,",       # 3x3, stride 1
    "c1, 11, 9, 3, 2, 3, 5, 2,",        # non-square ifmap and filter, stride 2
    "c2, 7, 7, 1, 1, 16, 12, 1,",       # pointwise
    "DPc3, 6, 6, 3, 3, 3, 1, 1,",       # depthwise: SCALE-Sim splits it into one layer per channel
]
# The GEMM shapes of SCALE-Sim's own topologies/GEMM_mnk/vit_s.csv (ViT-S), on its configs/scale.cfg.
VIT_S_LAYERS = ["L0,196,192,384,", "L1,196,1176,64,", "L2,196,64,1176,", "L3,196,1536,384,", "L4,196,384,1536,"]
REPORT_CASES = [
    ("gemm_os_8x8_4096k", "gemm", dict(rows=8, cols=8, df="os", ifmap=4096, filt=4096, ofmap=4096), GEMM_LAYERS),
    ("gemm_ws_8x8_1k", "gemm", dict(rows=8, cols=8, df="ws", ifmap=1, filt=1, ofmap=1), GEMM_LAYERS),
    ("gemm_is_8x16_2k", "gemm", dict(rows=8, cols=16, df="is", ifmap=2, filt=1, ofmap=1), GEMM_LAYERS),
    ("gemm_os_4x4_1k", "gemm", dict(rows=4, cols=4, df="os", ifmap=1, filt=1, ofmap=1), GEMM_LAYERS),
    ("gemm_ws_32x32_1k", "gemm", dict(rows=32, cols=32, df="ws", ifmap=1, filt=1, ofmap=1), ["big, 256, 96, 64,"]),
    ("conv_ws_8x8_16k", "conv", dict(rows=8, cols=8, df="ws", ifmap=16, filt=16, ofmap=8), CONV_LAYERS),
    ("conv_os_8x4_1k", "conv", dict(rows=8, cols=4, df="os", ifmap=1, filt=1, ofmap=1), CONV_LAYERS),
    ("conv_is_4x8_2k", "conv", dict(rows=4, cols=8, df="is", ifmap=2, filt=2, ofmap=1), CONV_LAYERS),
    ("vit_s_scale_cfg", "gemm", dict(rows=32, cols=32, df="ws", ifmap=64, filt=64, ofmap=64), VIT_S_LAYERS),
]


GEMM_HEADER = "Layer, M, N, K,\n"
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
REPORTS = ["COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"]


def main_reports(only):
    import shutil
    import time
    base = os.path.join(ROOT, "Tests", "Fixtures", "scalesim", "reports")
    for name, kind, fields, layers in REPORT_CASES:
        if only and name not in only:
            continue
        case_dir = os.path.join(base, name)
        os.makedirs(case_dir, exist_ok=True)
        cfg = os.path.join(case_dir, "scale.cfg")
        topo = os.path.join(case_dir, "topology.csv")
        open(cfg, "w").write(CFG.format(name=name, **fields))
        open(topo, "w").write((GEMM_HEADER if kind == "gemm" else CONV_HEADER) + "\n".join(layers) + "\n")
        with tempfile.TemporaryDirectory() as d:
            layout = os.path.join(d, "l.csv")
            open(layout, "w").write(LAYOUT)
            out = os.path.join(d, "out")
            start = time.time()
            subprocess.run([sys.executable, "-m", "scalesim.scale", "-c", cfg, "-t", topo, "-l", layout,
                            "-i", kind, "-p", out, "-s", "N"], check=True, capture_output=True, cwd=d)
            seconds = time.time() - start
            for report in REPORTS:
                shutil.copyfile(os.path.join(out, name, report), os.path.join(case_dir, report))
        print(f"{name}: {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("cycles", "all"):
        main_cycles()
    if what in ("reports", "all"):
        main_reports(set(sys.argv[2:]))
