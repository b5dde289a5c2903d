"""Evaluate exported .tflite models with the LiteRT Python interpreter.

These are the Python-side validation figures used while training and selecting
the model. The official figures come from the Rust `hematovision eval` command,
which runs the daemon's own decode/preprocess/runtime path.

    python3 models/training/evaluate.py --models models/hematovision-wbc4.tflite \
        --data ../shared/datasets pbc-wbc4/val kaggle-wbc4/test kaggle-wbc4/test_simple
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CLASSES, contract_preprocess, list_labelled, quiet_tensorflow  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


class TfliteClassifier:
    """A .tflite classifier run with ai_edge_litert; handles int8 or float32 I/O."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        self.interp = Interpreter(model_path=str(path), num_threads=threads)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        outs = self.interp.get_output_details()
        # Since 2.0 a second output holds the embedding: the class vector is the one with one
        # value per label.
        self.out = next((o for o in outs if int(np.prod(o["shape"])) == len(CLASSES)), outs[0])
        self.size = int(self.inp["shape"][1])
        meta = path.parent / "metadata.json"
        self.illumination = bool(meta.exists() and json.loads(meta.read_text()).get("illumination"))

    def outputs(self, x: np.ndarray, layout: dict) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, embedding), both dequantised, for the signature outputs `layout` names."""
        runner = self.interp.get_signature_runner()
        name = next(iter(runner.get_input_details()))
        d = runner.get_input_details()[name]
        if d["dtype"] in (np.int8, np.uint8):
            scale, zero = d["quantization"]
            info = np.iinfo(d["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(d["dtype"])
        res = runner(**{name: x[None].astype(d["dtype"])})
        out = []
        for kind in ("probabilities", "embedding"):
            key = layout[kind]["name"]
            v = res[key][0]
            od = runner.get_output_details()[key]
            if od["dtype"] in (np.int8, np.uint8):
                scale, zero = od["quantization"]
                v = (v.astype(np.float32) - zero) * scale
            out.append(np.asarray(v, np.float32).reshape(-1))
        return out[0], out[1]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """x: HxWx3 normalised float32 -> class probabilities (float32)."""
        dtype = self.inp["dtype"]
        if dtype == np.int8 or dtype == np.uint8:
            scale, zero = self.inp["quantization"]
            info = np.iinfo(dtype)
            q = np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
            self.interp.set_tensor(self.inp["index"], q[None])
        else:
            self.interp.set_tensor(self.inp["index"], x[None].astype(np.float32))
        self.interp.invoke()
        y = self.interp.get_tensor(self.out["index"])[0]
        if self.out["dtype"] in (np.int8, np.uint8):
            scale, zero = self.out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32)


def metrics(y_true: list[int], y_pred: list[int]) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows = truth)."""
    n = len(CLASSES)
    cm = np.zeros((n, n), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    per = {}
    for i, c in enumerate(CLASSES):
        tp = int(cm[i, i])
        support = int(cm[i].sum())
        predicted = int(cm[:, i].sum())
        prec = tp / predicted if predicted else 0.0
        rec = tp / support if support else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[c] = {"precision": prec, "recall": rec, "f1": f1, "support": support}
    total = int(cm.sum())
    return {
        "accuracy": float(np.trace(cm) / total) if total else 0.0,
        "n": total,
        "per_class": per,
        "confusion": cm.tolist(),
        "labels": CLASSES,
    }


def format_report(name: str, m: dict) -> str:
    """Human-readable accuracy, per-class table and confusion matrix."""
    lines = [f"== {name}: accuracy {m['accuracy'] * 100:.2f}% (n={m['n']})"]
    lines.append(f"{'class':<12}{'prec':>8}{'recall':>8}{'f1':>8}{'support':>9}")
    for c, v in m["per_class"].items():
        lines.append(
            f"{c:<12}{v['precision'] * 100:>7.2f}%{v['recall'] * 100:>7.2f}%"
            f"{v['f1'] * 100:>7.2f}%{v['support']:>9}"
        )
    lines.append("confusion (rows = true, cols = predicted): " + " ".join(c[:3] for c in CLASSES))
    for c, row in zip(CLASSES, m["confusion"]):
        lines.append(f"  {c[:3]} " + " ".join(f"{v:>5}" for v in row))
    return "\n".join(lines)


def evaluate(models: list[Path], data: Path, subsets: list[str], threads: int = 2,
             results_dir: Path = RESULTS_DIR, tag: str = "") -> dict:
    """Evaluate every model on every subset; print reports and write one JSON per pair."""
    results_dir.mkdir(parents=True, exist_ok=True)
    classifiers = [TfliteClassifier(m, threads) for m in models]
    out: dict = {}
    cache: dict[tuple[str, int, bool], tuple[list[np.ndarray], list[int]]] = {}
    for subset in subsets:
        items = list_labelled(data / subset)
        for clf in classifiers:
            key = (subset, clf.size, clf.illumination)
            if key not in cache:
                cache[key] = ([contract_preprocess(p, clf.size, clf.illumination) for p, _ in items],
                              [lbl for _, lbl in items])
            xs, ys = cache[key]
            preds = []
            t0 = time.perf_counter()
            for x in xs:
                preds.append(int(np.argmax(clf.probabilities(x))))
            dt = time.perf_counter() - t0
            m = metrics(ys, preds)
            m.update({
                "model": clf.path.name,
                "dataset": subset,
                "input_size": clf.size,
                "input_dtype": np.dtype(clf.inp["dtype"]).name,
                "runtime": "ai_edge_litert Python Interpreter (Python-side validation, not hematovision eval)",
                "threads": threads,
                "invoke_images_per_s": len(xs) / dt if dt > 0 else None,
            })
            name = f"{clf.path.stem}{tag} on {subset}"
            print(format_report(name, m), flush=True)
            fname = f"{clf.path.stem}{tag}__{subset.replace('/', '_')}.json"
            (results_dir / fname).write_text(json.dumps(m, indent=2) + "\n")
            out[f"{clf.path.name}:{subset}"] = m
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, nargs="+", required=True)
    ap.add_argument("--data", type=Path, required=True, help="datasets root (../shared/datasets)")
    ap.add_argument("subsets", nargs="+", help="labelled trees under --data, e.g. pbc-wbc4/val")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = ap.parse_args()
    quiet_tensorflow()
    evaluate(args.models, args.data, args.subsets, args.threads, args.results)


if __name__ == "__main__":
    main()
