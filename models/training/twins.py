"""Finding the augmented twins of one original cell in kaggle-wbc4, by appearance.

The Kaggle files are named _<n>_<m>.jpeg, but <n> is *not* an original-cell number: the
twins of one cell are spread evenly over every <n> of their class (checked with the
clusters below, and by eye on montages). So cells are recognised by what they look like.

The augmentations (rotation, flips, shifts, black corners) keep the stained pixels of the
cell: their colour histogram and their radial spread around their own centroid do not
change. `stain_descriptor` is that; two twins lie about 0.02-0.06 apart, two different
cells of one class usually 0.1-0.6. `cell_groups` links images closer than
TWIN_DISTANCE (single linkage, within a class) and attaches the small leftovers (cells cut
by the frame, whose visible stain changes) to the group of their nearest neighbour.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from common import CLASSES

#: Two images closer than this (descriptor distance) are taken as twins of one cell.
TWIN_DISTANCE = 0.08
#: A linked group smaller than this is a fragment and joins its nearest neighbour's group.
MIN_GROUP = 5
#: Stained pixels: purple nucleus and granules (the same rule as kaggle_checks.py).
_MIN_STAINED = 50


def stained_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the purple stain: B - G > 60, R < 200, B > 120."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    return (b - g > 60) & (r < 200) & (b > 120)


def stain_descriptor(path: Path) -> np.ndarray | None:
    """Rotation-, flip- and shift-invariant descriptor of the stained pixels, or None when
    there are fewer than 50 (no cell in view)."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.int32)
    mask = stained_mask(rgb)
    n = int(mask.sum())
    if n < _MIN_STAINED:
        return None
    colour, _ = np.histogramdd(rgb[mask], bins=(6, 6, 6), range=((0, 256),) * 3)
    ys, xs = np.nonzero(mask)
    radius = np.hypot(ys - ys.mean(), xs - xs.mean())
    radial, _ = np.histogram(radius, bins=12, range=(0, 120))
    return np.concatenate([colour.ravel() * 3 / n, radial / n, [np.log(n) / 3]]).astype(np.float32)


def descriptors(paths: list[Path], threads: int = 2) -> list[np.ndarray | None]:
    """stain_descriptor of every path (threaded: decoding dominates)."""
    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(stain_descriptor, paths))


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix between the rows of a and b."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def link(desc: np.ndarray, threshold: float = TWIN_DISTANCE, min_group: int = MIN_GROUP) -> np.ndarray:
    """Group ids (0..k-1) for the rows of desc: single linkage below threshold, then every
    member of a group smaller than min_group joins the group of its nearest row outside
    such small groups (if there is one)."""
    n = len(desc)
    if n == 0:
        return np.zeros(0, np.int64)
    d = distances(desc, desc)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(d < threshold, 1))):
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[ri] = rj
    roots = np.array([find(i) for i in range(n)])
    _, group, size = np.unique(roots, return_inverse=True, return_counts=True)
    small = size[group] < min_group
    if small.any() and (~small).any():
        big_rows = np.nonzero(~small)[0]
        for i in np.nonzero(small)[0]:
            group[i] = group[big_rows[np.argmin(d[i, big_rows])]]
    _, group = np.unique(group, return_inverse=True)
    return group


def cell_groups(
    items: list[tuple[Path, int]], threads: int = 2, desc: list[np.ndarray | None] | None = None
) -> list[str]:
    """A group key per (path, class index) item, "CLASS:GROUP": twins share a key.

    `desc` is the items' descriptors when already computed. Images with no stained pixels
    in view each get a key of their own ("none").
    """
    if desc is None:
        desc = descriptors([p for p, _ in items], threads)
    keys = [""] * len(items)
    for label in sorted({lbl for _, lbl in items}):
        rows = [i for i, (_, lbl) in enumerate(items) if lbl == label and desc[i] is not None]
        group = link(np.stack([desc[i] for i in rows])) if rows else []
        for i, g in zip(rows, group):
            keys[i] = f"{CLASSES[label]}:{g}"
    for i, k in enumerate(keys):
        if not k:
            keys[i] = f"{CLASSES[items[i][1]]}:none-{i}"
    return keys


def held_out_cells(
    items: list[tuple[Path, int]], fraction: float, seed: int, threads: int = 2
) -> tuple[dict[str, list[int]], set[str]]:
    """Group the items into cells and draw `fraction` of each class's cells (at least one) to
    hold out, seeded. Returns the cells (key -> item indices) and the held-out keys."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(cell_groups(items, threads)):
        groups.setdefault(key, []).append(i)
    rng = np.random.default_rng(seed)
    held: set[str] = set()
    for c in CLASSES:
        keys = sorted(k for k in groups if k.startswith(c + ":"))
        n = max(1, int(round(fraction * len(keys)))) if fraction > 0 and keys else 0
        held.update(rng.choice(keys, size=n, replace=False).tolist() if n else [])
    return groups, held
