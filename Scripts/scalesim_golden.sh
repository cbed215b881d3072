#!/bin/sh
# Regenerates Tests/Fixtures/scalesim/ with real SCALE-Sim 3.0.0: compute_cycles.csv (about 1-2 min) and
# reports/ (whole runs). Usage: Scripts/scalesim_golden.sh [cycles|reports|all] [CASE...]
# The venv is $SCALESIM_VENV (default: .venvs/scalesim in the package root); created if missing.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${SCALESIM_VENV:-$ROOT/.venvs/scalesim}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet scalesim==3.0.0 'numpy<2'
fi
exec "$VENV/bin/python" "$ROOT/Scripts/scalesim_golden.py" "$@"
