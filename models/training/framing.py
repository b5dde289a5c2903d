"""Framing by the cell: the Python twin of `src/vision/framing.rs`.

The square the classifier sees is centred on the white cell's box and sized so the cell
fills `cell_fraction` of its side. The arithmetic is integer (the fraction in thousandths),
so Rust and Python cannot round differently; `framing_vectors.json` holds cases that both
`cargo test` (framing_vectors test) and `test_framing.py` check. Cell boxes come from the
project's locator (`hematovision classify --reframe --json` prints them) or from masks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

#: Smallest and largest accepted cell_fraction; others are clamped (non-finite means 1.0).
FRACTION_RANGE = (0.2, 1.0)
VECTORS = Path(__file__).resolve().parent / "framing_vectors.json"


def permille(cell_fraction: float) -> int:
    """The fraction in thousandths, clamped to FRACTION_RANGE (as f32 in Rust)."""
    f = float(np.float32(cell_fraction))
    if not math.isfinite(f):
        f = FRACTION_RANGE[1]
    f = float(np.float32(min(max(f, FRACTION_RANGE[0]), FRACTION_RANGE[1])))
    return int(math.floor(f * 1000.0 + 0.5))


def framing_box(cell: tuple[int, int, int, int], cell_fraction: float) -> tuple[int, int, int]:
    """(left, top, side) of the square around cell = (x0, y0, x1, y1), x1/y1 exclusive."""
    x0, y0, x1, y1 = cell
    p = permille(cell_fraction)
    diameter = max(max(x1 - x0, 0), max(y1 - y0, 0), 1)
    side = max((2000 * diameter + p) // (2 * p), 1)
    return (x0 + x1 - side) // 2, (y0 + y1 - side) // 2, side


def cut(rgb: np.ndarray, box: tuple[int, int, int], pad: tuple[int, int, int]) -> np.ndarray:
    """The square `box` of an HxWx3 picture; pixels outside it are `pad`."""
    left, top, side = box
    h, w = rgb.shape[:2]
    out = np.empty((side, side, 3), rgb.dtype)
    out[:] = np.asarray(pad, rgb.dtype)
    sx0, sy0 = max(left, 0), max(top, 0)
    sx1, sy1 = min(left + side, w), min(top + side, h)
    if sx0 < sx1 and sy0 < sy1:
        out[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = rgb[sy0:sy1, sx0:sx1]
    return out


def load_vectors(path: Path = VECTORS) -> list[dict]:
    """The shared test vectors."""
    return json.loads(path.read_text())["cases"]
