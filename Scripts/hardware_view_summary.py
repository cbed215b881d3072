#!/usr/bin/env python3
"""Hardware view (docs/results.md, "Long context", "Hardware view"): reads docs/results/hardware-view.csv
(`attnsim sweep Configs/results/hardware-view.yaml`), names each row's method and dataflow, writes
docs/results/hardware-view-summary.csv (one row per point, a `method` column to plot by, DRAM bytes
read + written) and prints a Markdown table per length with each point's cost relative to dense on
the same dataflow. Stdlib only.

    python3 Scripts/hardware_view_summary.py
"""
import csv, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from long_context_summary import R, method  # noqa: E402

COLUMNS = ["positions", "method", "dataflow", "cycles", "time_us", "dram_bytes", "energy_pj", "kept_fraction",
           "v_rows_fetched_fraction", "bound_by", "kv_dram_passes", "dram_row_hit_rate", "rescale_ops", "config_id"]


def main():
    rows = []
    with open(os.path.join(R, "hardware-view.csv"), newline="") as f:
        for r in csv.DictReader(f):
            name, k = method(r["attention.pruning"])
            # Short names for the plots' legends (Top-θ here always has both compensations).
            name = {"int8, no pruning": "dense", "Top-θ + both compensations": "Top-θ"}.get(name, name) + (f" {k}" if k else "")
            flow = r["hardware.dataflow"]
            rows.append({"positions": r["evaluation.positions"], "method": f"{name}, {flow}", "dataflow": flow,
                         "dram_bytes": int(r["dram_read_bytes"]) + int(r["dram_write_bytes"]),
                         **{c: r[c] for c in COLUMNS if c in r and c not in ("positions", "method", "dataflow")}})
    with open(os.path.join(R, "hardware-view-summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    dense = {(r["positions"], r["dataflow"]): r for r in rows if r["method"].startswith("dense")}
    print("| positions | method, dataflow | cycles | × dense | DRAM bytes | × dense | energy (pJ) | × dense | kept | bound by | K/V DRAM passes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        d = dense[(r["positions"], r["dataflow"])]
        ratio = lambda c: float(r[c]) / float(d[c])  # noqa: E731
        print(f"| {r['positions']} | {r['method']} | {float(r['cycles']):.4g} | {ratio('cycles'):.2f} | {float(r['dram_bytes']):.4g} | "
              f"{ratio('dram_bytes'):.2f} | {float(r['energy_pj']):.4g} | {ratio('energy_pj'):.2f} | {float(r['kept_fraction']):.3f} | "
              f"{r['bound_by']} | {float(r['kv_dram_passes']):.1f} |")


if __name__ == "__main__":
    main()
