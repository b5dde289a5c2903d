"""Probe: can the shipped model's own embedding tell cells outside the four from the four?

A measurement for issue 21's option (c), not a shipped component. The shipped four-class model
(1.3.1) exposes its pooled embedding (`output_1`). A linear gate on that embedding, fitted on
training splits only, would send a cell it flags to the unidentified bin instead of the
differential. This script measures such a gate with a rule fixed before any figure was seen:

- in-four: a seeded sample of pbc-wbc4/train (1,500) and kaggle-wbc4/train (1,000);
  outside: pbc-extra/train (1,440: basophils, erythroblasts, IGs);
- each picture's embedding is the mean over the 8 orientation views, through the preprocessing
  contract (`common.contract_preprocess`) and the ai_edge_litert interpreter;
- L2 logistic regression on standardised embeddings, classes weighted equally; the L2 strength is
  the one with the lowest 5-fold cross-validated log-loss on the training cells;
- the threshold flags at most 2% of the in-four training cells (their out-of-fold scores);
- then every set is reported: validation and test sets of the four (flagged = would go to the
  unidentified bin), pbc-extra/val (flagged per class, and how many would still be counted as one of
  the four at the 60% confidence threshold), and the unseen microscopes.

    python3 models/training/outside_gate.py --model models/hematovision-wbc4.tflite \
        --data ../shared/datasets --out models/training/results/outside_gate.json \
        --write-gate models/gate.json

`--write-gate` writes the fitted gate for the daemon (`src/model/gate.rs` reads it): the
standardisation folded into the weights, so the daemon computes one dot product on the mean
embedding, `score = weights . embedding + bias`, and flags the cell when `score > threshold`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FOUR  # noqa: E402

SEED = 7
FALSE_FLAG = 0.02
LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1)
THRESHOLD_CONFIDENCE = 0.6
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
GATE_FORMAT = "hematovision-gate/1"

# (key, folder under --data, sample size, role): "in"/"out" train the gate; "four"/"extra" are reported.
SETS = (
    ("pbc_train", "pbc-wbc4/train", 1500, "in"),
    ("kaggle_train", "kaggle-wbc4/train", 1000, "in"),
    ("extra_train", "pbc-extra/train", 1440, "out"),
    ("pbc-wbc4/val", "pbc-wbc4/val", 889, "four"),
    ("kaggle-wbc4/test", "kaggle-wbc4/test", 1000, "four"),
    ("jtsc-wbc4/test", "jtsc-wbc4/test", 199, "four"),
    ("cvblog-wbc4/test", "cvblog-wbc4/test", 97, "four"),
    ("pbc-extra/val", "pbc-extra/val", 360, "extra"),
    ("jtsc-wbc4/extra", "jtsc-wbc4/extra", 99, "extra"),
    ("cvblog-wbc4/extra", "cvblog-wbc4/extra", 99, "extra"),
)


def fit_logistic(x: np.ndarray, y: np.ndarray, lam: float, iters: int = 400) -> tuple[np.ndarray, float]:
    """L2 logistic regression (both classes weighted equally) by Adam on the full batch."""
    n, d = x.shape
    w, b = np.zeros(d), 0.0
    m, v = np.zeros(d + 1), np.zeros(d + 1)
    pos = float(y.mean())
    weight = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    for t in range(1, iters + 1):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * weight / n
        grad = np.append(x.T @ g + lam * w, g.sum())
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        step = 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        w -= step[:-1]
        b -= step[-1]
    return w, b


def choose_gate(z: np.ndarray, y: np.ndarray, lambdas=LAMBDAS, false_flag: float = FALSE_FLAG,
                seed: int = SEED) -> dict:
    """The rule of the module doc on standardised features `z` (y: 1 = outside the four)."""
    folds = np.random.default_rng(seed).integers(0, 5, len(y))
    trials = []
    for lam in lambdas:
        oof = np.zeros(len(y))
        for f in range(5):
            train = folds != f
            w, b = fit_logistic(z[train], y[train], lam)
            oof[~train] = z[~train] @ w + b
        p = 1 / (1 + np.exp(-oof))
        loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
        trials.append((loss, lam, oof))
    loss, lam, oof = min(trials, key=lambda t: t[0])
    threshold = float(np.quantile(oof[y == 0], 1 - false_flag))
    w, b = fit_logistic(z, y, lam)
    return {
        "lambda": lam,
        "cv_log_loss": {str(l): round(t, 4) for t, l, _ in trials},
        "threshold": threshold,
        "cv_flagged_in_four": float(np.mean(oof[y == 0] > threshold)),
        "cv_flagged_outside": float(np.mean(oof[y == 1] > threshold)),
        "w": w,
        "b": b,
    }


def sample(root: Path, n: int) -> list[Path]:
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    random.Random(SEED).shuffle(files)
    return files[:n]


def embed(clf, layout: dict, files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Mean 8-view (embedding, probabilities) of each file."""
    from common import contract_preprocess

    embeddings, probabilities = [], []
    for path in files:
        x = contract_preprocess(path, clf.size)
        es, ps = [], []
        for k in range(4):
            for flip in (False, True):
                view = np.rot90(x, k)
                if flip:
                    view = view[:, ::-1]
                p, e = clf.outputs(np.ascontiguousarray(view), layout)
                es.append(e)
                ps.append(p)
        embeddings.append(np.mean(es, 0))
        probabilities.append(np.mean(ps, 0))
    return np.array(embeddings), np.array(probabilities)


def report_four(flag: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict:
    truth = np.array([FOUR.index(l) if l in FOUR else -1 for l in labels])
    known = truth >= 0
    right = known & (probs.argmax(1) == truth)
    wrong = known & ~right
    return {
        "cells": int(known.sum()),
        "flagged": float(flag[known].mean()),
        "raw_accuracy": float(right.sum() / known.sum()),
        "right_and_not_flagged": float((right & ~flag).sum() / known.sum()),
        "flagged_of_right": float(flag[right].mean()) if right.any() else 0.0,
        "flagged_of_wrong": float(flag[wrong].mean()) if wrong.any() else 0.0,
    }


def report_extra(flag: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict:
    sure = probs.max(1) >= THRESHOLD_CONFIDENCE
    out = {}
    for cls in sorted(set(labels)):
        sel = np.array([l == cls for l in labels])
        out[cls] = {
            "cells": int(sel.sum()),
            "flagged": float(flag[sel].mean()),
            "counted_as_one_of_four_without_gate": float(sure[sel].mean()),
            "counted_as_one_of_four_with_gate": float((sure & ~flag)[sel].mean()),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="a .tflite with the embedding output")
    ap.add_argument("--data", type=Path, required=True, help="the shared datasets folder")
    ap.add_argument("--out", type=Path, required=True, help="JSON figures")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write-gate", type=Path, help="also write the gate file the daemon reads")
    args = ap.parse_args()

    from common import quiet_tensorflow
    from evaluate import TfliteClassifier

    quiet_tensorflow()
    layout = json.loads((args.model.parent / "metadata.json").read_text())["outputs"]
    clf = TfliteClassifier(args.model, threads=args.threads)
    data = {}
    for key, folder, n, role in SETS:
        root = args.data / folder
        if not root.is_dir():
            print(f"{folder}: not found, skipped", flush=True)
            continue
        files = sample(root, n)
        e, p = embed(clf, layout, files)
        data[key] = (e, p, [f.parent.name.upper() for f in files], role)
        print(f"{folder}: {len(files)} embedded", flush=True)

    train = [(e, 1 if role == "out" else 0) for e, _, _, role in data.values() if role in ("in", "out")]
    x = np.vstack([e for e, _ in train])
    y = np.concatenate([np.full(len(e), c, float) for e, c in train])
    mean, std = x.mean(0), x.std(0) + 1e-6
    gate = choose_gate((x - mean) / std, y)
    result = {
        "model": args.model.name,
        "rule": f"L2 by 5-fold CV log-loss over {list(LAMBDAS)}; threshold flags <= {FALSE_FLAG:.0%} "
                "of in-four training cells (out-of-fold)",
        "training_cells": {k: len(v[0]) for k, v in data.items() if v[3] in ("in", "out")},
        **{k: v for k, v in gate.items() if k not in ("w", "b")},
        "sets": {},
    }
    for key, (e, p, labels, role) in data.items():
        if role in ("in", "out"):
            continue
        flag = ((e - mean) / std) @ gate["w"] + gate["b"] > gate["threshold"]
        result["sets"][key] = report_four(flag, p, labels) if role == "four" else report_extra(flag, p, labels)
        print(key, json.dumps(result["sets"][key]), flush=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {args.out}")
    if args.write_gate:
        args.write_gate.write_text(json.dumps(gate_file(gate, mean, std, result), indent=1) + "\n")
        print(f"written {args.write_gate}")
        record_gate(args.write_gate)


def record_gate(gate_path: Path) -> None:
    """Names the gate file, with its sha256, in the metadata.json beside it (if there is one)."""
    import hashlib

    meta_path = gate_path.parent / "metadata.json"
    if not meta_path.is_file():
        return
    meta = json.loads(meta_path.read_text())
    meta["gate"] = {
        "file": gate_path.name,
        "reads": "mean over the orientation views of the embedding output",
        "flags": "cells unlike the four classes (basophils, immature granulocytes, erythroblasts): "
                 "counted as unidentified",
        "fitted_by": "models/training/outside_gate.py",
    }
    meta.setdefault("sha256", {})[gate_path.name] = hashlib.sha256(gate_path.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"recorded in {meta_path}")


def gate_file(gate: dict, mean: np.ndarray, std: np.ndarray, result: dict) -> dict:
    """The daemon's gate: `(z - mean) / std . w + b` folded into `weights . z + bias`."""
    weights = gate["w"] / std
    bias = float(gate["b"] - np.sum(gate["w"] * mean / std))
    return {
        "format": GATE_FORMAT,
        "reads": "mean over the orientation views of the embedding output",
        "flags": "weights . embedding + bias > threshold",
        "embedding_size": int(len(weights)),
        "weights": [round(float(v), 7) for v in weights],
        "bias": round(bias, 7),
        "threshold": round(float(gate["threshold"]), 7),
        "rule": result["rule"],
        "lambda": gate["lambda"],
        "training_cells": result["training_cells"],
    }


if __name__ == "__main__":
    main()
