#!/bin/sh
# Regenerates Tests/Fixtures/dram/dramsim3_golden.csv with real DRAMsim3 (a few seconds after the
# first build). DRAMsim3 (umd-memsys/DRAMsim3 at the commit below) is built from its source with its
# own Makefile into .cache/dramsim3 (git-ignored); its source comes from $DRAMSIM3_GIT (a bare git
# dir, e.g. the one the fetch tool leaves under /work/.mirror) or is cloned from GitHub.
# Our Scripts/dramsim3_driver.cc feeds it the traces `attnsim` writes, as fast as it accepts them.
# Cases × presets: (a) a dense sequential stream, (b) the sparse V gathers of a Top-θ decode run on
# the committed SmolLM2 trace (Tests/Fixtures/dram/top-theta-decode.yaml), (c) the bank-conflict worst
# case, (a') a dense stream of as many requests as (b), and (d) a tiled decode's K and V stream
# (`attnsim dram --pattern tiled-dense|tiled-sparse --key-tile 32|128|512`: the same requests in
# each key-tile order, docs/model.md); presets ddr4-3200 (configs/DDR4_8Gb_x8_3200.ini) and hbm2 (configs/HBM2_8Gb_x128.ini).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMMIT=29817593b3389f1337235d63cac515024ab8fd6e
CACHE=$ROOT/.cache/dramsim3
SRC=$CACHE/src
OUT=$ROOT/Tests/Fixtures/dram/dramsim3_golden.csv
DRAMSIM3_GIT=${DRAMSIM3_GIT:-/work/.mirror/umd-memsys+DRAMsim3/repo}
if [ ! -f "$SRC/src/timing.o" ]; then
    rm -rf "$SRC"; mkdir -p "$SRC"
    if [ -d "$DRAMSIM3_GIT" ]; then
        git --git-dir="$DRAMSIM3_GIT" archive "$COMMIT" | tar -x -C "$SRC"
    else
        git clone --quiet https://github.com/umd-memsys/DRAMsim3 "$SRC" && git -C "$SRC" checkout --quiet "$COMMIT"
    fi
    (cd "$SRC" && make -j2 libdramsim3.so >/dev/null)
fi
if [ ! -x "$CACHE/driver" ] || [ "$ROOT/Scripts/dramsim3_driver.cc" -nt "$CACHE/driver" ]; then
    (cd "$SRC" && g++ -O2 -std=c++11 -Isrc -Iext/headers -Iext/fmt/include -DFMT_HEADER_ONLY=1 -o "$CACHE/driver" \
        "$ROOT/Scripts/dramsim3_driver.cc" src/bankstate.o src/channel_state.o src/command_queue.o src/common.o \
        src/configuration.o src/controller.o src/dram_system.o src/hmc.o src/memory_system.o src/refresh.o \
        src/simple_stats.o src/timing.o)
fi
(cd "$ROOT" && swift build -c release --product attnsim >/dev/null)
BIN=$ROOT/.build/release/attnsim
WORK=$CACHE/work
rm -rf "$WORK"; mkdir -p "$WORK"
echo "preset,case,requests,cycles,row_hits,activates,energy_pj" > "$WORK/golden.csv"
for preset in ddr4-3200 hbm2; do
    case $preset in
        ddr4-3200) ini=$SRC/configs/DDR4_8Gb_x8_3200.ini ;;
        hbm2) ini=$SRC/configs/HBM2_8Gb_x128.ini ;;
    esac
    "$BIN" dram --preset $preset --pattern sequential --requests 16384 --write-trace "$WORK/sequential-$preset.trc" >/dev/null
    "$BIN" dram --preset $preset --pattern conflict --requests 1024 --write-trace "$WORK/conflict-$preset.trc" >/dev/null
    "$BIN" run "$ROOT/Tests/Fixtures/dram/top-theta-decode.yaml" --set hardware.dram.preset=$preset --quiet \
        --dram-trace "$WORK/gather-$preset.trc" --dram-trace-streams v --out "$WORK/gather-$preset.csv"
    # (a') a dense stream of exactly the gather's request count: same bytes, sequential addresses.
    "$BIN" dram --preset $preset --pattern sequential --requests "$(wc -l < "$WORK/gather-$preset.trc")" \
        --write-trace "$WORK/dense-$preset.trc" >/dev/null
    for kt in 32 128 512; do
        for v in dense sparse; do
            "$BIN" dram --preset $preset --pattern tiled-$v --key-tile $kt --write-trace "$WORK/tiled-$v-$kt-$preset.trc" >/dev/null
        done
    done
    for c in sequential gather dense conflict tiled-dense-32 tiled-dense-128 tiled-dense-512 tiled-sparse-32 tiled-sparse-128 tiled-sparse-512; do
        mkdir -p "$WORK/$c-$preset"
        line=$("$CACHE/driver" "$ini" "$WORK/$c-$preset.trc" "$WORK/$c-$preset" | tail -1)
        python3 - "$WORK/$c-$preset/dramsim3.json" "$preset" "$c" "$line" "$ini" >> "$WORK/golden.csv" <<'PY'
import json, sys, configparser
stats = json.load(open(sys.argv[1]))
preset, case, line, ini = sys.argv[2], sys.argv[3], sys.argv[4].split(), sys.argv[5]
cp = configparser.ConfigParser(); cp.read(ini); tck = float(cp["timing"]["tCK"])
chans = stats.values() if all(isinstance(v, dict) for v in stats.values()) else [stats]
hits = sum(int(c["num_read_row_hits"]) + int(c["num_write_row_hits"]) for c in chans)
acts = sum(int(c["num_act_cmds"]) for c in chans)
# DRAMsim3's energies are V x mA x cycles; x tCK (ns) gives pJ.
energy = sum(float(c["total_energy"]) for c in chans) * tck
print(f"{preset},{case},{line[1]},{line[5]},{hits},{acts},{energy:.0f}")
PY
    done
done
mv "$WORK/golden.csv" "$OUT"
cat "$OUT"
