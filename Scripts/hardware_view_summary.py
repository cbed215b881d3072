#!/usr/bin/env python3
"""Hardware view (docs/results.md, "Long context", "Hardware view"): reads docs/results/hardware-view.csv
(`attnsim sweep Configs/results/hardware-view.yaml`), names each row's method and dataflow, writes
docs/results/hardware-view-summary.csv (one row per point, a `method` column to plot by, DRAM bytes
read + written) and prints a Markdown table per length with each point's cost relative to dense on
the same dataflow. With `decode`: the same for docs/results/hardware-view-decode.csv
(`Configs/results/hardware-view-decode.yaml`, 64 decode steps per point) into
hardware-view-decode-summary.csv, with the cost per decode step and K and V DRAM bytes. Stdlib only.

    python3 Scripts/hardware_view_summary.py            # prefill
    python3 Scripts/hardware_view_summary.py decode     # decode
"""
import csv, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from long_context_summary import R, method  # noqa: E402

COLUMNS = ["positions", "method", "dataflow", "cycles", "time_us", "dram_bytes", "energy_pj", "kept_fraction",
           "v_rows_fetched_fraction", "bound_by", "kv_dram_passes", "dram_row_hit_rate", "rescale_ops", "config_id"]
# Decode: the cost per step (whole model: 30 layers × 9 heads per step) and where the bytes go.
DECODE_COLUMNS = COLUMNS[:3] + ["cycles_per_step", "dram_bytes_per_step", "energy_pj_per_step", "k_dram_bytes", "v_dram_bytes",
                                "cycles_qk", "cycles_softmax", "cycles_pv", "cycles_dram"] + COLUMNS[3:]
ROWS_PER_STEP = 30 * 9  # SmolLM2: one query row per query head and layer per step


def main():
    decode = sys.argv[1:] == ["decode"]
    if sys.argv[1:] not in ([], ["decode"]):
        sys.exit("usage: hardware_view_summary.py [decode]")
    base = "hardware-view-decode" if decode else "hardware-view"
    columns = DECODE_COLUMNS if decode else COLUMNS
    rows = []
    with open(os.path.join(R, base + ".csv"), newline="") as f:
        for r in csv.DictReader(f):
            name, k = method(r["attention.pruning"])
            # Short names for the plots' legends (Top-θ here always has both compensations).
            name = {"int8, no pruning": "dense", "Top-θ + both compensations": "Top-θ"}.get(name, name) + (f" {k}" if k else "")
            flow = r["hardware.dataflow"]
            row = {"positions": r["evaluation.positions"], "method": f"{name}, {flow}", "dataflow": flow,
                   "dram_bytes": int(r["dram_read_bytes"]) + int(r["dram_write_bytes"]),
                   **{c: r[c] for c in columns if c in r and c not in ("positions", "method", "dataflow")}}
            if decode:
                steps, rest = divmod(int(r["rows"]), ROWS_PER_STEP)
                if r["phase"] != "decode" or rest or not steps:
                    sys.exit(f"{r['config_id']}: expected decode rows, a multiple of {ROWS_PER_STEP}, got {r['phase']} {r['rows']}")
                for c in ("cycles", "dram_bytes", "energy_pj"):
                    row[c + "_per_step"] = f"{float(row[c]) / steps:.6g}"
            rows.append(row)
    with open(os.path.join(R, base + "-summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, columns)
        w.writeheader()
        w.writerows(rows)
    dense = {(r["positions"], r["dataflow"]): r for r in rows if r["method"].startswith("dense")}
    # (header, column, format): format "x" is the ratio to dense on the same dataflow, "s" the text.
    per = " / step" if decode else ""
    cost = [(f"cycles{per}", "cycles", ".4g"), ("× dense", "cycles", "x"), (f"DRAM bytes{per}", "dram_bytes", ".4g"),
            ("× dense", "dram_bytes", "x"), (f"energy{per} (pJ)", "energy_pj", ".4g"), ("× dense", "energy_pj", "x")]
    if decode:
        cost = [(h, c + ("_per_step" if f != "x" else ""), f) for h, c, f in cost]
        cost += [("K DRAM bytes", "k_dram_bytes", ".4g"), ("V DRAM bytes", "v_dram_bytes", ".4g"), ("× dense", "v_dram_bytes", "x"),
                 ("V rows fetched", "v_rows_fetched_fraction", ".3f")]
    else:
        cost += [("kept", "kept_fraction", ".3f")]
    table = [("positions", "positions", "s"), ("method, dataflow", "method", "s")] + cost \
        + [("bound by", "bound_by", "s"), ("K/V DRAM passes", "kv_dram_passes", ".1f")]
    print("| " + " | ".join(h for h, _, _ in table) + " |")
    print("|" + "---|" * len(table))
    for r in rows:
        d = dense[(r["positions"], r["dataflow"])]
        cell = lambda c, f: (f"{float(r[c]) / float(d[c]):.2f}" if f == "x" else str(r[c]) if f == "s"  # noqa: E731
                             else format(float(r[c]), f))
        print("| " + " | ".join(cell(c, f) for _, c, f in table) + " |")

if __name__ == "__main__":
    main()
