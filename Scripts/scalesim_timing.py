#!/usr/bin/env python3
"""Times real SCALE-Sim 3.0.0 on the benchmark GEMM list of docs/performance.md (32×32 array, os, ws, is):
Q·Kᵀ 128×64×128, P·V 128×128×64, and a 512×768×768 projection. Same venv as scalesim_golden.py:

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; $VENV/bin/python Scripts/scalesim_timing.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalesim_golden import run  # noqa: E402

GEMMS = [(128, 64, 128), (128, 128, 64), (512, 768, 768)]
for df in ("os", "ws", "is"):
    t0 = time.perf_counter()
    cycles = []
    for m, k, n in GEMMS:
        comp, _ = run(32, 32, df, m, k, n)
        cycles.append(int(comp["Total Cycles"]))
    dt = time.perf_counter() - t0
    print(f"{df}: {dt:.2f} s for {len(GEMMS)} GEMMs, printed total cycles {cycles}", flush=True)
