"""Checks of why kaggle-wbc4/test scores low: framing of the crop, and a cell-level leak.

1. Framing. The preprocessing contract classifies the central square of each 320x240
   Kaggle frame. This scores the same model on the same images with other squares:
   `centre` (the contract), `three_squares` (mean probabilities of the left, centre and right
   240x240 squares, which together cover the whole frame) and `stain_centred` (the 240x240
   square centred, as far as the frame allows, on the median of the stained pixels
   B - G > 60, R < 200, B > 120). If cut-off cells were the main limit, the last two would
   score well above `centre`.
2. Leak. `../shared/README.md` says the test split shares original cells with train. For
   every test_simple image (one view of each test cell) this finds the most similar train
   image by cosine similarity of ImageNet MobileNetV2 (0.35) features of the whole frame,
   and reports how often that neighbour has the same class. As a control, the same search
   from 400 train images (seeded draw) to the rest of train, excluding the image itself,
   reports how often the neighbour is an augmented twin (same class and original number):
   that is what a shared original looks like to this search.

    python3 models/training/kaggle_checks.py --data ../shared/datasets \
        --model models/hematovision-wbc4-float32.tflite

Writes models/training/results/kaggle_checks.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WEIGHTS_NAME, kaggle_original_id, list_labelled, normalize, quiet_tensorflow, resize_bilinear  # noqa: E402
from evaluate import RESULTS_DIR, TfliteClassifier  # noqa: E402


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def stain_centre_x(frame: np.ndarray) -> int | None:
    """Column of the median stained pixel, or None with fewer than 50 stained pixels."""
    r, g, b = (frame[..., i].astype(np.int32) for i in range(3))
    mask = (b - g > 60) & (r < 200) & (b > 120)
    if mask.sum() < 50:
        return None
    return int(np.median(np.nonzero(mask)[1]))


def framing(clf: TfliteClassifier, root: Path) -> dict:
    items = list_labelled(root)
    hits = {"centre": 0, "three_squares": 0, "stain_centred": 0}
    for path, label in items:
        frame = load_rgb(path)
        h, w = frame.shape[:2]
        s = min(h, w)
        if h > w:
            frame = frame.transpose(1, 0, 2)
            h, w = w, h

        def probs(x0: int) -> np.ndarray:
            return clf.probabilities(normalize(resize_bilinear(frame[:s, x0 : x0 + s], clf.size)))

        squares = [probs(x0) for x0 in (0, (w - s) // 2, w - s)]
        hits["centre"] += int(squares[1].argmax() == label)
        hits["three_squares"] += int(np.mean(squares, axis=0).argmax() == label)
        cx = stain_centre_x(frame)
        stained = squares[1] if cx is None else probs(min(max(cx - s // 2, 0), w - s))
        hits["stain_centred"] += int(stained.argmax() == label)
    return {"n": len(items), **{k: v / len(items) for k, v in hits.items()}}


def leak(data: Path, weights: Path) -> dict:
    import tensorflow as tf

    size = 160
    base = tf.keras.applications.MobileNetV2(
        input_shape=(size, size, 3), alpha=0.35, include_top=False, weights=str(weights), pooling="avg"
    )

    def features(items: list[tuple[Path, int]]) -> np.ndarray:
        out = []
        for i in range(0, len(items), 256):
            batch = []
            for path, _ in items[i : i + 256]:
                frame = resize_bilinear(load_rgb(path), size)  # whole frame, squashed to a square
                batch.append(normalize(frame))
            out.append(base.predict(np.stack(batch), verbose=0))
        f = np.concatenate(out)
        return f / np.linalg.norm(f, axis=1, keepdims=True)

    train = list_labelled(data / "kaggle-wbc4" / "train")
    test = list_labelled(data / "kaggle-wbc4" / "test_simple")
    train_features = features(train)
    sim = features(test) @ train_features.T
    nearest = sim.argmax(axis=1)
    same = [train[j][1] == label for j, (_, label) in zip(nearest, test)]
    probes = np.random.default_rng(0).choice(len(train), size=400, replace=False)
    control = train_features[probes] @ train_features.T
    control[np.arange(len(probes)), probes] = -1.0  # not itself
    twin = [
        kaggle_original_id(*train[j]) == kaggle_original_id(*train[i])
        for i, j in zip(probes, control.argmax(axis=1))
    ]
    return {
        "n": len(test),
        "nearest_same_class": float(np.mean(same)),
        "median_best_similarity": float(np.median(sim.max(axis=1))),
        "control_train_nearest_is_twin": float(np.mean(twin)),
        "control_median_best_similarity": float(np.median(control.max(axis=1))),
        "pairs": [[str(p.relative_to(data)), str(train[j][0].relative_to(data))] for j, (p, _) in zip(nearest, test)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="datasets root (../shared/datasets)")
    ap.add_argument("--model", type=Path, required=True, help="a .tflite of the contract")
    ap.add_argument("--weights", type=Path, help="ImageNet weights (default: ../shared/weights/...)")
    args = ap.parse_args()
    quiet_tensorflow()
    weights = args.weights or args.data.parent / "weights" / WEIGHTS_NAME
    clf = TfliteClassifier(args.model, threads=2)
    result = {"model": args.model.name}
    for subset in ("kaggle-wbc4/test_simple", "kaggle-wbc4/test"):
        result[subset] = framing(clf, args.data / subset)
        print(subset, {k: round(v, 4) for k, v in result[subset].items()})
    result["leak"] = leak(args.data, weights)
    print("leak check", {k: v for k, v in result["leak"].items() if k != "pairs"})
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "kaggle_checks.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
