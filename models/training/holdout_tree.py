"""Lay out train.py's Kaggle cell hold-out as a labelled folder, for `hematovision eval`.

train.py holds out whole Kaggle cells (found by appearance, twins.py) and reports the hold-out
accuracy from Keras. To score the same images through the daemon's own path, this writes
OUT/CLASS/<file> symbolic links to them (same seed and fraction as train.py's defaults):

    python3 models/training/holdout_tree.py --data ../shared/datasets --out /tmp/kaggle-holdout
    hematovision eval /tmp/kaggle-holdout
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CLASSES, list_labelled  # noqa: E402
from twins import held_out_cells  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="datasets root (../shared/datasets)")
    ap.add_argument("--out", type=Path, required=True, help="folder to create (must not exist)")
    ap.add_argument("--kaggle-holdout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    items = list_labelled(args.data / "kaggle-wbc4" / "train")
    groups, held = held_out_cells(items, args.kaggle_holdout, args.seed, args.threads)
    hold = [items[i] for key, idx in groups.items() if key in held for i in idx]
    args.out.mkdir(parents=True, exist_ok=False)
    for path, label in hold:
        folder = args.out / CLASSES[label]
        folder.mkdir(exist_ok=True)
        os.symlink(path.resolve(), folder / path.name)
    per_class = {c: sum(1 for _, lbl in hold if lbl == i) for i, c in enumerate(CLASSES)}
    print(f"{len(hold)} images linked under {args.out}: {per_class}")


if __name__ == "__main__":
    main()
