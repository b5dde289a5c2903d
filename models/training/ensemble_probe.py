"""Measure whether averaging several models' answers helps, before building an ensemble.

Each model (a float32 or int8 .tflite) classifies every image of each labelled tree once (one view,
the preprocessing contract, the ai_edge_litert interpreter); then every combination of the models is
scored by the mean of their class probabilities. Prints one line per set and combination and writes
`results/ensemble_probe.json`.

    python3 models/training/ensemble_probe.py \
        --model 1.3.0=models/hematovision-wbc4-float32.tflite --model avg=/tmp/avg/out/hematovision-wbc4-float32.tflite \
        --set pbc-val=../shared/datasets/pbc-wbc4/val --set holdout=/tmp/kaggle-holdout

(`holdout_tree.py` makes the Kaggle cell hold-out's folder.)
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import contract_preprocess, list_labelled  # noqa: E402
from evaluate import RESULTS_DIR, TfliteClassifier  # noqa: E402


def named(value: str) -> tuple[str, Path]:
    """Parses NAME=PATH."""
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=PATH")
    return name, Path(path)


def combination_accuracies(probs: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """Accuracy of the mean probabilities of every non-empty combination of the models, keyed
    by the names joined with '+', in the order given."""
    out = {}
    names = list(probs)
    for r in range(1, len(names) + 1):
        for combo in itertools.combinations(names, r):
            mean = np.mean([probs[k] for k in combo], axis=0)
            out["+".join(combo)] = float((mean.argmax(axis=1) == labels).mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=named, action="append", required=True, help="NAME=model.tflite")
    ap.add_argument("--set", type=named, action="append", required=True, help="NAME=labelled folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "ensemble_probe.json")
    args = ap.parse_args()
    classifiers = {name: TfliteClassifier(path, args.threads) for name, path in args.model}
    sizes = {c.size for c in classifiers.values()}
    if len(sizes) != 1:
        raise SystemExit(f"the models take different input sizes {sorted(sizes)}; an ensemble needs one")
    size = sizes.pop()
    result: dict = {"models": {n: str(p) for n, p in args.model}, "views": 1, "sets": {}}
    for set_name, folder in args.set:
        items = list_labelled(folder)
        xs = [contract_preprocess(p, size) for p, _ in items]
        labels = np.array([lbl for _, lbl in items])
        probs = {n: np.stack([c.probabilities(x) for x in xs]) for n, c in classifiers.items()}
        acc = combination_accuracies(probs, labels)
        for combo, a in acc.items():
            print(f"{set_name} {combo} {a * 100:.2f}%", flush=True)
        wrong = np.stack([p.argmax(axis=1) != labels for p in probs.values()])
        shared = {"wrong_in_every_model": int(wrong.all(axis=0).sum()),
                  "wrong_in_some_model": int(wrong.any(axis=0).sum())}
        print(f"{set_name}: {shared['wrong_in_every_model']} images wrong in every model, "
              f"{shared['wrong_in_some_model']} in at least one", flush=True)
        result["sets"][set_name] = {"folder": str(folder), "n": int(len(labels)), "accuracy": acc,
                                    "errors": shared}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
