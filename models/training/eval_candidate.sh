#!/usr/bin/env bash
# Measure one model bundle on every set the model card reports, through the daemon's own path
# (`hematovision eval`, `classify` via outside_four.py, `bench`), so that every candidate and the
# shipped model are read with the same commands. Usage, from the project root:
#
#   bash models/training/eval_candidate.sh MODEL_DIR OUT_DIR
#
# MODEL_DIR holds hematovision-wbc4.tflite with labels.txt and metadata.json beside it; OUT_DIR
# receives one JSON per set plus summary.txt. Needs a release build (`cargo build --release`) and
# the training pipeline's Python packages for the hold-out tree (the Kaggle twins finder).
set -euo pipefail
cd "$(dirname "$0")/../.."
model_dir=${1:?MODEL_DIR}
out=${2:?OUT_DIR}
data=${HV_DATA:-../shared/datasets}
bin=${HV_BIN:-target/release/hematovision}
export RUST_LOG=${RUST_LOG:-warn}
model="$model_dir/hematovision-wbc4.tflite"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Sets that are unions of folders are laid out as symbolic-link trees.
tree() { # tree OUT SRC... : OUT/CLASS/<src-name>_<file> for every SRC/CLASS/file
  local dest=$1; shift
  for src in "$@"; do
    for cls in "$src"/*/; do
      mkdir -p "$dest/$(basename "$cls")"
      for f in "$cls"*; do
        ln -s "$(realpath "$f")" "$dest/$(basename "$cls")/$(basename "$src")_$(basename "$f")"
      done
    done
  done
}
tree "$work/jtsc-all" "$data/jtsc-wbc4/test" "$data/jtsc-wbc4/calib"
tree "$work/basophils-unseen" "$data/jtsc-wbc4/extra" "$data/cvblog-wbc4/extra"
python3 models/training/holdout_tree.py --data "$data" --out "$work/kaggle-holdout" >/dev/null

run_eval() { # run_eval NAME DIR [ARGS...]
  local name=$1 dir=$2; shift 2
  if ! "$bin" eval "$dir" --model "$model" --json "$@" >"$out/$name.json" 2>"$out/$name.err"; then
    # e.g. a four-class model on a set of the extra classes
    echo "$name: not measured: $(tail -1 "$out/$name.err")" | tee -a "$out/summary.txt"
    rm -f "$out/$name.json"
    return
  fi
  rm -f "$out/$name.err"
  python3 - "$out/$name.json" "$name" <<'EOF' | tee -a "$out/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
n = r.get("n", r.get("fields"))
rec = {k: v["recall"] for k, v in r["per_class"].items() if v["support"]}
print(f"{sys.argv[2]:<22} {100 * r['accuracy']:6.2f}%  n={n}  recall " +
      " ".join(f"{k[:3]} {100 * v:.2f}" for k, v in rec.items()))
EOF
}

: >"$out/summary.txt"
run_eval pbc-wbc4_val "$data/pbc-wbc4/val"
run_eval pbc-extra_val "$data/pbc-extra/val"
run_eval kaggle-holdout "$work/kaggle-holdout"
run_eval kaggle-wbc4_test "$data/kaggle-wbc4/test"
run_eval bccd-fields "$data/bccd-fields" --fields "$data/bccd-fields/labels.csv"
run_eval jtsc-wbc4_test "$data/jtsc-wbc4/test"
run_eval cvblog-wbc4_test "$data/cvblog-wbc4/test"
run_eval jtsc-wbc4_all "$work/jtsc-all"
for set in pbc-extra_val basophils_unseen; do
  case $set in
    pbc-extra_val) dir="$data/pbc-extra/val" ;;
    basophils_unseen) dir="$work/basophils-unseen" ;;
  esac
  python3 models/training/outside_four.py --bin "$bin" --model "$model" \
    --out "$out/outside-four__$set.json" "$dir" >/dev/null
  python3 - "$out/outside-four__$set.json" "$set" <<'EOF' | tee -a "$out/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"outside-four {sys.argv[2]:<16} counted as one of the four: " +
      " ".join(f"{k} {100 * v['counted_share']:.2f}%" for k, v in r["per_class"].items()))
EOF
done
"$bin" bench --model "$model" --threads 2 --json >"$out/bench.json" 2>/dev/null
python3 - "$out/bench.json" <<'EOF' | tee -a "$out/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"bench classify (8 views) median {r['classify_ms_median']:.2f} ms, preprocess {r['preprocess_ms_median']:.2f} ms")
EOF
