#!/usr/bin/env python3
"""Long-context results (docs/results.md, "Long context"): reads docs/results/long-context-*-{decode,prefill}.csv
(written by `attnsim eval Configs/results/long-context-*.yaml`), names each row's method, writes
docs/results/long-context-summary.csv (one row per point and mode, with a `method` column to plot by)
and prints, per mode, the table and the headline: fewest V rows fetched (decode) or kept elements
(prefill) at <= 1% perplexity increase, per method, against the paper's 3x and 10x. Stdlib only.

    python3 Scripts/long_context_summary.py
"""
import csv, glob, os, re

R = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results")
COLUMNS = ["length", "mode", "method", "k_or_t", "perplexity", "float_perplexity", "perplexity_change", "prediction_agreement",
           "kept_fraction", "v_rows_fetched_fraction", "cycles", "dram_read_bytes", "energy_pj", "examples"]


def method(pruning):
    kv = dict(re.findall(r'(\w+): "?([^",}]+)"?', pruning))
    kind = kv.get("kind")
    if kind == "none":
        return "int8, no pruning", ""
    if kind == "top_k":
        return "top-k", kv["k"]
    if kind == "probability":
        return "Ji p-threshold", kv["threshold"]
    comp = kv.get("denominator") == "exact" and kv.get("v_mean") == "true"
    none = kv.get("denominator") == "none" and kv.get("v_mean") == "false"
    name = "Top-θ + both compensations" if comp else "Top-θ, no compensation" if none else \
        f"Top-θ ({kv.get('denominator')}, v_mean {kv.get('v_mean')})"
    return name, kv["k"]


def main():
    out = []
    for path in sorted(glob.glob(os.path.join(R, "long-context-*-*.csv"))):
        m = re.match(r"long-context-(\w+)-(decode|prefill)\.csv$", os.path.basename(path))
        if not m:
            continue
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                name, param = method(r["attention.pruning"])
                out.append({"length": m.group(1), "mode": r["mode"], "method": name, "k_or_t": param,
                            **{c: r[c] for c in COLUMNS[4:]}})
    with open(os.path.join(R, "long-context-summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(out)
    for length in sorted({r["length"] for r in out}):
        for mode, col, paper in (("decode", "v_rows_fetched_fraction", 3), ("prefill", "kept_fraction", 10)):
            rs = [r for r in out if r["length"] == length and r["mode"] == mode]
            if not rs:
                continue
            what = "V rows fetched" if mode == "decode" else "kept attention elements"
            print(f"\n{length} {mode}: {what} at <= 1% perplexity increase (paper: {paper}x fewer)")
            print("| method | k or t | perplexity | change | top-1 agreement | kept fraction | V rows fetched | cycles | energy (pJ) |")
            print("|---|---|---|---|---|---|---|---|---|")
            for r in rs:
                print(f"| {r['method']} | {r['k_or_t']} | {float(r['perplexity']):.3f} | {float(r['perplexity_change']):+.2%} | "
                      f"{float(r['prediction_agreement']):.3f} | {float(r['kept_fraction']):.4f} | {float(r['v_rows_fetched_fraction']):.4f} | "
                      f"{r['cycles']} | {float(r['energy_pj']):.4g} |")
            for name in sorted({r["method"] for r in rs}):
                ok = [r for r in rs if r["method"] == name and float(r["perplexity_change"]) <= 0.01]
                if not ok:
                    print(f"- {name}: no point within 1%")
                    continue
                best = min(ok, key=lambda r: float(r[col]))
                frac = float(best[col])
                print(f"- {name}: fewest {what} within 1%: {frac:.1%} ({1 / frac:.2f}x fewer) at {best['k_or_t'] or '-'}, "
                      f"perplexity {float(best['perplexity_change']):+.2%}")


if __name__ == "__main__":
    main()
