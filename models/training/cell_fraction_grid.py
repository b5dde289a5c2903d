"""Draw a 10 % grid over centre-square training crops, to measure the cell fraction by eye.

The camera-side cell locator frames its crop so that the white cell fills the same
fraction of the crop side as in training ("cell_fraction" in metadata.json). This
script makes the montage used for that rough measurement (3 random images per class,
fixed seed); read each cell's diameter off the grid (one line = 0.1 of the side,
red = centre). The readings are recorded in MODEL_CARD.md. Output is a local PNG:
it shows dataset images, so do not commit it.

    python3 models/training/cell_fraction_grid.py --data ../shared/datasets --out /tmp/grids
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CLASSES, load_square_rgb  # noqa: E402

TILE = 300


def montage(root: Path, per_class: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    tiles = []
    for c in CLASSES:
        paths = sorted((root / c).iterdir())
        rng.shuffle(paths)
        for p in paths[:per_class]:
            im = Image.fromarray(load_square_rgb(p)).resize((TILE, TILE))
            d = ImageDraw.Draw(im)
            for k in range(1, 10):
                col = (255, 0, 0) if k == 5 else (0, 160, 0)
                d.line([(k * TILE // 10, 0), (k * TILE // 10, TILE)], fill=col)
                d.line([(0, k * TILE // 10), (TILE, k * TILE // 10)], fill=col)
            tiles.append(im)
    out = Image.new("RGB", (per_class * TILE, len(CLASSES) * TILE), "white")
    for i, t in enumerate(tiles):
        out.paste(t, ((i % per_class) * TILE, (i // per_class) * TILE))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-class", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for ds in ("kaggle-wbc4/train", "pbc-wbc4/train"):
        path = args.out / f"grid-{ds.split('/')[0]}.png"
        montage(args.data / ds, args.per_class, args.seed).save(path)
        print(path)


if __name__ == "__main__":
    main()
