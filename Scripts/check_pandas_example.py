#!/usr/bin/env python3
"""Runs the pandas example of docs/report-columns.md (the ```python block after the
`<!-- pandas-example -->` marker) on a fresh sweep of Configs/sweep-small.yaml and checks that the
Pareto front it prints is the one `attnsim table --pareto` selects, and that it drew a PNG.
Scripts/test runs it in CI inside .venvs/pandas (pandas, matplotlib).

Usage: python Scripts/check_pandas_example.py .build/release/attnsim"""
import os
import re
import subprocess
import sys
import tempfile

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
attnsim = os.path.abspath(sys.argv[1])
doc = open(os.path.join(root, "docs/report-columns.md"), encoding="utf-8").read()
m = re.search(r"<!-- pandas-example -->\s*```python\n(.*?)```", doc, re.S)
if not m:
    sys.exit("check_pandas_example: no ```python block after <!-- pandas-example --> in docs/report-columns.md")

with tempfile.TemporaryDirectory() as tmp:
    csv = os.path.join(tmp, "sweep.csv")
    subprocess.run([attnsim, "sweep", "Configs/sweep-small.yaml", "--out", csv, "--quiet"], cwd=root, check=True)
    with open(os.path.join(tmp, "example.py"), "w", encoding="utf-8") as f:
        f.write(m.group(1))
    out = subprocess.run([sys.executable, "example.py"], cwd=tmp, check=True, capture_output=True, text=True).stdout
    # The example prints config_id and trace of each front row (a header line first).
    ours = [tuple(line.split()[:2]) for line in out.strip().splitlines()[1:]]
    table = subprocess.run([attnsim, "table", csv, "--where", "phase=prefill", "--pareto", "energy_pj,rel_l2_error",
                            "--columns", "config_id,trace"], check=True, capture_output=True, text=True).stdout
    theirs = [tuple(c.strip() for c in line.strip("|").split("|")) for line in table.strip().splitlines()[2:]]
    png = os.path.join(tmp, "pareto.png")
    failures = []
    if not ours:
        failures.append("the example printed no front")
    if ours != theirs:
        failures.append(f"front differs:\n  pandas:  {ours}\n  attnsim: {theirs}")
    if not os.path.exists(png) or os.path.getsize(png) < 10_000:
        failures.append("pareto.png missing or too small")
    for f in failures:
        print("check_pandas_example: " + f, file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"pandas example: its Pareto front ({len(ours)} rows) equals attnsim's; pareto.png drawn")
