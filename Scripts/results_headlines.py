#!/usr/bin/env python3
"""Headline rows of docs/results.md, computed from the CSVs Scripts/results writes (stdlib only):

    python3 Scripts/results_headlines.py
"""
import csv
import os

R = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results")


def rows(name):
    with open(os.path.join(R, name + ".csv"), newline="") as f:
        return list(csv.DictReader(f))


def f(r, k):
    return float(r[k])


def ji():
    rs = rows("ji-sentiment")
    plain = [r for r in rs if r["attention.probabilities.quantization"] == "none"]
    ok = [r for r in plain if f(r, "relative_accuracy_loss") <= 0.01]
    best = max(ok, key=lambda r: 1 - f(r, "kept_fraction"))
    print(f"Ji et al., MiniLM sentiment: largest pruned fraction at <= 1% relative accuracy loss: "
          f"{1 - f(best, 'kept_fraction'):.1%} (t = {best['attention.pruning.threshold']}, accuracy "
          f"{f(best, 'accuracy'):.4f} [{f(best, 'accuracy_ci_low'):.4f}, {f(best, 'accuracy_ci_high'):.4f}] vs float {f(best, 'float_accuracy'):.4f})")
    near80 = min(plain, key=lambda r: abs(1 - f(r, "kept_fraction") - 0.8))
    t = near80["attention.pruning.threshold"]
    print(f"  threshold nearest 80% pruned: t = {t} prunes {1 - f(near80, 'kept_fraction'):.1%}, "
          f"relative accuracy loss {f(near80, 'relative_accuracy_loss'):+.2%}")
    for q in ("log", "uniform"):
        r = next(r for r in rs if r["attention.pruning.threshold"] == t and r["attention.probabilities.quantization"] == q)
        print(f"  t = {t} + 3-bit {q} quantization: pruned {1 - f(r, 'kept_fraction'):.1%}, accuracy {f(r, 'accuracy'):.4f}, "
              f"relative loss {f(r, 'relative_accuracy_loss'):+.2%}, embedding cosine {f(r, 'embedding_cosine'):.4f}")


def top_theta():
    rs = [r for r in rows("top-theta-perplexity") if r["mode"] == "decode"]
    ok = [r for r in rs if f(r, "perplexity_change") <= 0.01]
    if ok:
        best = min(ok, key=lambda r: f(r, "v_rows_fetched_fraction"))
        print(f"Top-θ, SmolLM2 decode: fewest V rows fetched at <= 1% perplexity increase: "
              f"{f(best, 'v_rows_fetched_fraction'):.1%} of the visible rows ({1 / f(best, 'v_rows_fetched_fraction'):.2f}x fewer) "
              f"at k = {best['attention.pruning.k']}, denominator {best['attention.pruning.denominator']}, "
              f"v_mean {best['attention.pruning.v_mean']}: perplexity {f(best, 'perplexity'):.3f} vs float {f(best, 'float_perplexity'):.3f} "
              f"({f(best, 'perplexity_change'):+.2%})")
    else:
        print("Top-θ, SmolLM2 decode: no configuration stays within 1% perplexity increase")
    base = [r for r in rows("topk-perplexity") if r["mode"] == "decode" and r["attention.pruning"] == '{kind: "none"}']
    if base:
        print(f"  int8 Q/K/V without pruning, decode: perplexity change {f(base[0], 'perplexity_change'):+.2%}")
    k32 = next((r for r in rs if r["attention.pruning.k"] == "32" and r["attention.pruning.denominator"] == "exact"
                and r["attention.pruning.v_mean"] == "true"), None)
    if k32:
        print(f"  k = 32 with both compensations: {f(k32, 'v_rows_fetched_fraction'):.1%} of the V rows "
              f"({1 / f(k32, 'v_rows_fetched_fraction'):.2f}x fewer), perplexity {f(k32, 'perplexity_change'):+.2%}")


if __name__ == "__main__":
    for part in (ji, top_theta):
        try:
            part()
        except FileNotFoundError as e:
            print(f"(missing {e.filename}: run Scripts/results)")
