"""Checks of why kaggle-wbc4/test scores low: framing of the crop, a cell-level leak, and
which test cells are wrong.

1. Framing. The preprocessing contract classifies the central square of each 320x240
   Kaggle frame. This scores the same model on the same images with other squares:
   `centre` (the contract), `three_squares` (mean probabilities of the left, centre and right
   240x240 squares, which together cover the whole frame) and `stain_centred` (the 240x240
   square centred, as far as the frame allows, on the median of the stained pixels
   B - G > 60, R < 200, B > 120). If cut-off cells were the main limit, the last two would
   score well above `centre`.
2. Leak. `../shared/README.md` says the test split shares original cells with train. With
   the appearance descriptor of twins.py (stained pixels' colour histogram and radial
   spread: unchanged by the Kaggle rotations, flips and shifts), per class: the number of
   distinct cells in each split, the distance from a test image to its nearest test twin
   and to its nearest train image, and how many test images have a train image closer than
   the twin distance. A control checks the file names: how many twin pairs in train share
   the first number of `_<n>_<m>.jpeg` (all would, if <n> numbered the original cells).
3. Per cell. The test images grouped into cells by twins.py; for each cell, the share of
   its views the centre square classifies right.

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
from common import CLASSES, list_labelled, normalize, quiet_tensorflow, resize_bilinear  # noqa: E402
from evaluate import RESULTS_DIR, TfliteClassifier  # noqa: E402
import twins  # noqa: E402


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def stain_centre_x(frame: np.ndarray) -> int | None:
    """Column of the median stained pixel, or None with fewer than 50 stained pixels."""
    mask = twins.stained_mask(frame)
    if mask.sum() < 50:
        return None
    return int(np.median(np.nonzero(mask)[1]))


def framing(clf: TfliteClassifier, root: Path) -> tuple[dict, list[tuple[Path, int]], list[bool]]:
    """Accuracy of each framing; also the items and whether the centre square was right."""
    items = list_labelled(root)
    hits = {"centre": 0, "three_squares": 0, "stain_centred": 0}
    centre_right = []
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
        centre_right.append(bool(squares[1].argmax() == label))
        hits["centre"] += int(centre_right[-1])
        hits["three_squares"] += int(np.mean(squares, axis=0).argmax() == label)
        cx = stain_centre_x(frame)
        stained = squares[1] if cx is None else probs(min(max(cx - s // 2, 0), w - s))
        hits["stain_centred"] += int(stained.argmax() == label)
    return {"n": len(items), **{k: v / len(items) for k, v in hits.items()}}, items, centre_right


def per_cell(items: list[tuple[Path, int]], right: list[bool], desc: list[np.ndarray | None]) -> dict:
    """Accuracy per test cell (its twins found by twins.py): how many cells the centre square
    gets right in most of their views, per class, and the share of views right per cell."""
    keys = twins.cell_groups(items, desc=desc)
    cells: dict[str, list[bool]] = {}
    for key, ok in zip(keys, right):
        cells.setdefault(key, []).append(ok)
    out = {}
    for name in CLASSES:
        shares = sorted(float(np.mean(v)) for k, v in cells.items() if k.startswith(name + ":") and len(v) >= twins.MIN_GROUP)
        out[name] = {
            "cells": len(shares),
            "cells_right_in_most_views": int(sum(x > 0.5 for x in shares)),
            "share_of_views_right_per_cell": [round(x, 3) for x in shares],
        }
    return out


def leak(data: Path, threads: int, test: list[tuple[Path, int]], test_desc: list[np.ndarray | None]) -> dict:
    """Does the test split hold augmented twins of train cells? Per class, with the
    appearance descriptor of twins.py: how many distinct cells each split holds, how far a
    test image is from its nearest test twin and from its nearest train image, and how many
    test images have a train image closer than the twin distance. The control checks the
    file names: among nearest train neighbours that are twins, how many share the file
    name's first number (all of them, if that number identified the original cell).
    `test`: the kaggle-wbc4/test items, `test_desc` their twins.py descriptors."""
    out: dict = {"twin_distance": twins.TWIN_DISTANCE, "per_class": {}}
    split_items = {"train": list_labelled(data / "kaggle-wbc4" / "train"), "test": test}
    split_desc = {"train": twins.descriptors([p for p, _ in split_items["train"]], threads), "test": test_desc}
    for label, name in enumerate(CLASSES):
        rows = {
            s: [i for i, (_, lbl) in enumerate(split_items[s]) if lbl == label and split_desc[s][i] is not None]
            for s in split_items
        }
        tr = np.stack([split_desc["train"][i] for i in rows["train"]])
        te = np.stack([split_desc["test"][i] for i in rows["test"]])
        test_test = twins.distances(te, te)
        np.fill_diagonal(test_test, np.inf)
        test_train = twins.distances(te, tr).min(axis=1)
        train_train = twins.distances(tr, tr)
        np.fill_diagonal(train_train, np.inf)
        nearest = train_train.argmin(axis=1)
        is_twin = train_train[np.arange(len(tr)), nearest] < twins.TWIN_DISTANCE
        first_number = [split_items["train"][i][0].name.split("_")[1] for i in rows["train"]]
        same_number = [first_number[i] == first_number[j] for i, j in zip(np.nonzero(is_twin)[0], nearest[is_twin])]
        out["per_class"][name] = {
            "cells_train": int(len(np.unique(twins.link(tr)))),
            "cells_test": int(len(np.unique(twins.link(te)))),
            "file_numbers_train": len(set(first_number)),
            "median_test_to_nearest_test": float(np.median(test_test.min(axis=1))),
            "median_test_to_nearest_train": float(np.median(test_train)),
            "test_images": len(te),
            "test_images_with_train_twin": int((test_train < twins.TWIN_DISTANCE).sum()),
            "train_twin_pairs_sharing_file_number": float(np.mean(same_number)) if same_number else 0.0,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="datasets root (../shared/datasets)")
    ap.add_argument("--model", type=Path, required=True, help="a .tflite of the contract")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    quiet_tensorflow()
    clf = TfliteClassifier(args.model, threads=args.threads)
    result = {"model": args.model.name}
    for subset in ("kaggle-wbc4/test_simple", "kaggle-wbc4/test"):
        result[subset], items, right = framing(clf, args.data / subset)
        print(subset, {k: round(v, 4) for k, v in result[subset].items()})
    test_desc = twins.descriptors([p for p, _ in items], args.threads)  # kaggle-wbc4/test
    result["per_cell"] = per_cell(items, right, test_desc)
    for name, row in result["per_cell"].items():
        print("test cells", name, row)
    result["leak"] = leak(args.data, args.threads, items, test_desc)
    for name, row in result["leak"]["per_class"].items():
        print("leak check", name, {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "kaggle_checks.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
