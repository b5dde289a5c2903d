#!/usr/bin/env bash
# The recalibration figures of the model card (issue 22), all through the project's own commands:
# `hematovision calibrate` on reviewed cells of a microscope, then `hematovision eval --calibration`.
#
#   bash models/training/recalibration_figures.sh OUT_DIR [MODEL]
#
# 1. Jiangxi (jtsc-wbc4): calibrate on calib/ (100 cells), evaluate test/ without and with it;
# 2. the learning curve: 10, 25, 50 cells (seeds 22, 23, 24) and all 100;
# 3. pbc-wbc4/val with the Jiangxi calibration loaded (a calibration is for one microscope);
# 4. a calibration on 100 cells of the model's own training look (pbc-wbc4/train), on pbc-wbc4/val.
# Prints one line per figure and writes every calibration file and JSON into OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?OUT_DIR}
model=${2:-models/hematovision-wbc4.tflite}
data=${HV_DATA:-../shared/datasets}
bin=${HV_BIN:-target/release/hematovision}
export RUST_LOG=${RUST_LOG:-warn}
mkdir -p "$out"

accuracy() { # accuracy SET [ARGS...]: the eval accuracy in per cent
  local set=$1; shift
  "$bin" eval "$data/$set" --model "$model" --json "$@" 2>/dev/null |
    python3 -c "import json, sys; print('%.2f%%' % (100 * json.load(sys.stdin)['accuracy']))"
}

calibrate() { # calibrate NAME DIR [ARGS...]: writes OUT/NAME.json, prints CV before/after and time
  local name=$1 dir=$2; shift 2
  "$bin" calibrate "$dir" --model "$model" --out "$out/$name.json" --json "$@" 2>/dev/null >"$out/$name.report.json"
  python3 - "$out/$name.report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"cells {r['cells']}, cross-validated {100 * r['accuracy_before']:.0f}% -> {100 * r['accuracy_after']:.0f}%, "
      f"pull {r['strength']}, {r['seconds']['total']:.1f} s, written {r['written']}")
EOF
}

echo "jtsc-wbc4/test, shipped head: $(accuracy jtsc-wbc4/test)"
echo "calibrate jtsc-wbc4/calib: $(calibrate jtsc-100 "$data/jtsc-wbc4/calib")"
echo "jtsc-wbc4/test, 100 cells: $(accuracy jtsc-wbc4/test --calibration "$out/jtsc-100.json")"
for cells in 10 25 50; do
  for seed in 22 23 24; do
    name="jtsc-$cells-s$seed"
    report=$(calibrate "$name" "$data/jtsc-wbc4/calib" --cells "$cells" --seed "$seed" --force)
    echo "jtsc-wbc4/test, $cells cells, seed $seed: $(accuracy jtsc-wbc4/test --calibration "$out/$name.json") ($report)"
  done
done
echo "pbc-wbc4/val, shipped head: $(accuracy pbc-wbc4/val)"
echo "pbc-wbc4/val, Jiangxi calibration: $(accuracy pbc-wbc4/val --calibration "$out/jtsc-100.json")"
echo "calibrate 100 cells of pbc-wbc4/train: $(calibrate pbc-100 "$data/pbc-wbc4/train" --cells 100 --seed 22)"
if [ -s "$out/pbc-100.json" ]; then
  echo "pbc-wbc4/val, PBC self-calibration: $(accuracy pbc-wbc4/val --calibration "$out/pbc-100.json")"
fi
