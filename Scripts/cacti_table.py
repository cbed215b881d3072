#!/usr/bin/env python3
"""Prints docs/model.md's table of AttnSim's SRAM energy and area vs CACTI's, from the fixture
Tests/Fixtures/cacti/sram.csv (made by Scripts/cacti_golden.sh). Our figures are recomputed here from
the documented default formulas (1.25 pJ/B x sqrt(KiB/8), 0.7 um^2 per bit); a Swift test renders the
same table from EnergyTable and the fixture and checks docs/model.md contains it.

Usage: python3 Scripts/cacti_table.py"""
import csv
import math
import os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
rows = list(csv.DictReader(open(os.path.join(root, "Tests/Fixtures/cacti/sram.csv"))))
print("| KiB | bits | ours pJ/access | CACTI read pJ | CACTI write pJ | ours / CACTI read | ours mm² | CACTI mm² | ours / CACTI area |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["node_nm"] != "45":
        continue
    kib, bits = int(r["size_kib"]), int(r["width_bits"])
    ours = 1.25 * math.sqrt(max(kib, 0.125) / 8) * bits / 8
    area = kib * 8192 * 0.7 * 1e-6
    read, write, carea = float(r["read_pj"]), float(r["write_pj"]), float(r["area_mm2"])
    print("| %d | %d | %.2f | %.2f | %.2f | %.2f | %.4f | %.4f | %.2f |"
          % (kib, bits, ours, read, write, ours / read, area, carea, area / carea))
