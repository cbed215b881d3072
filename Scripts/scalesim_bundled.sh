#!/bin/sh
# Runs one of SCALE-Sim's own config + topology files through real SCALE-Sim 3.0.0 and through
# `attnsim scalesim`, prints both wall and CPU times and checks that the three reports are byte-identical.
#   Scripts/scalesim_bundled.sh SCALESIM_REPO CONFIG TOPOLOGY [gemm|conv]
# e.g. Scripts/scalesim_bundled.sh ~/scale-sim-v3 configs/scale.cfg topologies/GEMM_mnk/vit_s.csv gemm
# SCALESIM_REPO is a checkout of github.com/scalesim-project/scale-sim-v3 (its files are read, not
# copied). Needs the release build (swift build -c release) and the venv of Scripts/scalesim_golden.sh.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${SCALESIM_VENV:-$ROOT/.venvs/scalesim}
REPO=$1; CFG=$REPO/$2; TOPO=$REPO/$3; KIND=${4:-conv}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# SCALE-Sim reads a layout file even when no custom layout is used; one header line and one row do.
printf 'Layer name,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,\nx,1,1,1,1,1,1,0,1,2,0,1,2,0,1,2,3,0,1,2,3,\n' > "$OUT/layout.csv"
# CPU seconds (user + system) as well as wall seconds: the machine may be shared.
(cd "$OUT" && /usr/bin/time -f "%e %U %S" -o "$OUT/scalesim.time" "$VENV/bin/python" -m scalesim.scale -c "$CFG" -t "$TOPO" \
    -l "$OUT/layout.csv" -i "$KIND" -p "$OUT/scalesim" -s N > "$OUT/scalesim.log" 2>&1)
/usr/bin/time -f "%e %U %S" -o "$OUT/attnsim.time" "$ROOT/.build/release/attnsim" scalesim -c "$CFG" -t "$TOPO" -i "$KIND" \
    -p "$OUT/attnsim" 2> "$OUT/attnsim.err" > /dev/null
run=$(ls "$OUT/scalesim")
status=0
for f in COMPUTE_REPORT.csv BANDWIDTH_REPORT.csv DETAILED_ACCESS_REPORT.csv; do
    if cmp -s "$OUT/scalesim/$run/$f" "$OUT/attnsim/$run/$f"; then echo "$f: identical"; else echo "$f: DIFFERENT"; status=1; fi
done
echo "layers: $(($(wc -l < "$OUT/scalesim/$run/COMPUTE_REPORT.csv") - 1))"
paste "$OUT/scalesim.time" "$OUT/attnsim.time" | awk '{ sc = $2 + $3; ac = $5 + $6
    printf "SCALE-Sim %.1f s wall, %.1f s CPU; attnsim %.3f s wall, %.3f s CPU; CPU ratio %.0f\n", $1, sc, $4, ac, sc / ac }'
exit $status
