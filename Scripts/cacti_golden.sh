#!/usr/bin/env bash
# SRAM per-access energy and area from CACTI 7 for the buffer sizes AttnSim uses (2 KiB … 2 MiB) at
# the widths it compares (64, 128, 256 bits), 45 nm, plus CACTI's other nodes for one macro; writes
# Tests/Fixtures/cacti/sram.csv (the fixture the `cacti45` SRAM model interpolates; docs/model.md).
#
# Usage: Scripts/cacti_golden.sh [CACTI_DIR]   (default: .cache/cacti/src, git-ignored)
# CACTI_DIR is a CACTI 7 source tree (github.com/HewlettPackard/cacti) already built with its own
# makefile: it must hold the `cacti` executable, its `cache.cfg` and `tech_params/`. This script only
# runs it; CACTI is a reference for golden data, never a dependency of AttnSim.
#
# Every run starts from CACTI's own cache.cfg and changes only: size, block size (= width), one-way
# "ram" (a scratchpad, no tags), no ECC, 350 K, the node. One read-write port, one bank, itrs-hp
# cells and periphery, the default cycle-time objective, as in cache.cfg.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cacti_dir=${1:-.cache/cacti/src}
cacti_dir=$(cd "$cacti_dir" && pwd)
[ -x "$cacti_dir/cacti" ] && [ -f "$cacti_dir/cache.cfg" ] && [ -d "$cacti_dir/tech_params" ] || {
  echo "cacti_golden.sh: $cacti_dir has no built cacti, cache.cfg and tech_params/ (see the header)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$repo/Tests/Fixtures/cacti/sram.csv"
mkdir -p "$(dirname "$out")"

run() {  # node_um size_bytes width_bits → one CSV record
  local node=$1 size=$2 width=$3 cfg="$work/c.cfg" res="$work/c.out"
  sed -e "s/^-size (bytes) .*/-size (bytes) $size/" \
      -e "s/^-block size (bytes) .*/-block size (bytes) $((width / 8))/" \
      -e "s/^-associativity .*/-associativity 1/" \
      -e "s/^-technology (u) .*/-technology (u) $node/" \
      -e "s/^-output\/input bus width .*/-output\/input bus width $width/" \
      -e 's/^-cache type .*/-cache type "ram"/' \
      -e 's/^-Add ECC .*/-Add ECC - "false"/' \
      -e 's/^-Print input parameters .*/-Print input parameters - "false"/' \
      -e 's/^-operating temperature (K) .*/-operating temperature (K) 350/' \
      "$cacti_dir/cache.cfg" > "$cfg"
  (cd "$cacti_dir" && ./cacti -infile "$cfg") > "$res" 2>&1 || { echo "cacti failed for $node um, $size B, $width bits:" >&2; tail "$res" >&2; exit 1; }
  awk -v node="$node" -v size="$size" -v width="$width" '
    /Total dynamic read energy per access \(nJ\):/ && r == "" { r = $NF }
    /Total dynamic write energy per access \(nJ\):/ && w == "" { w = $NF }
    /Cache height x width \(mm\):/ && a == "" { a = $(NF-2) * $NF }
    /^ *Access time \(ns\):/ && t == "" { t = $NF }
    /Total leakage power of a bank \(mW\):/ && l == "" { l = $NF }
    END {
      if (r == "" || w == "" || a == "" || t == "") { print "cacti_golden.sh: output lacks a figure" > "/dev/stderr"; exit 1 }
      printf "%d,%d,%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", node * 1000 + 0.5, size / 1024, width, r * 1000, w * 1000, a, t, l
    }' "$res"
}

{
  echo "node_nm,size_kib,width_bits,read_pj,write_pj,area_mm2,access_ns,leakage_mw"
  for width in 64 128 256; do
    for kib in 2 4 8 16 32 64 128 256 512 1024 2048; do run 0.045 $((kib * 1024)) $width; done
  done
  for node in 0.022 0.032 0.065 0.090; do run $node $((8 * 1024)) 64; done
} > "$work/sram.csv"
mv "$work/sram.csv" "$out"
echo "wrote $out ($(($(wc -l < "$out") - 1)) macros)"
