"""Background (illumination) normalisation: the Python twin of `src/model/illumination.rs`.

Microscopes differ most visibly in the colour of the empty slide: PBC's CellaVision gives a
pink-beige background, the Jiangxi Motic camera a yellow one, a bright-field lamp a grey-blue
one. The picture's own background is estimated and every channel is scaled so that this
background becomes a fixed neutral reference, before the network sees the picture.

The estimate: the brightest `top_permille` thousandths of the pixels by R+G+B (a threshold
on that sum; every pixel at or above it counts, so ties are all in) are the background; its
colour is their per-channel mean, rounded half up, and at least `min_background`. Each channel
is then scaled: `out = min(255, round_half_up(x * reference / background))`.

All of it is integer arithmetic, so Rust and Python cannot round differently;
`illumination_vectors.json` holds cases that both `cargo test` and `test_illumination.py`
check. `normalise_tf` is a float approximation for use inside the training graph, after
augmentation (it is not the contract; `normalise` is).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: The defaults written to metadata.json ("illumination").
TOP_PERMILLE = 100
REFERENCE = (240, 240, 240)
MIN_BACKGROUND = 32
METHOD = "background_gain"
VECTORS = Path(__file__).resolve().parent / "illumination_vectors.json"


def describe() -> dict:
    """The metadata.json "illumination" object."""
    return {"method": METHOD, "top_permille": TOP_PERMILLE, "reference": list(REFERENCE),
            "min_background": MIN_BACKGROUND, "applied_to": "the whole decoded picture, before the crop"}


def background(rgb: np.ndarray, top_permille: int = TOP_PERMILLE,
               min_background: int = MIN_BACKGROUND) -> tuple[int, int, int]:
    """The background colour of an HxWx3 uint8 picture (see the module doc)."""
    px = np.asarray(rgb, np.int64).reshape(-1, 3)
    n = px.shape[0]
    if n == 0:
        raise ValueError("empty picture")
    s = px.sum(1)
    want = max(1, (n * int(top_permille) + 999) // 1000)
    hist = np.bincount(s, minlength=766)
    from_top = np.cumsum(hist[::-1])
    threshold = 765 - int(np.argmax(from_top >= want))
    sel = px[s >= threshold]
    count = sel.shape[0]
    sums = sel.sum(0)
    bg = (2 * sums + count) // (2 * count)
    return tuple(int(max(v, min_background)) for v in bg)


def apply_gain(rgb: np.ndarray, bg: tuple[int, int, int],
               reference: tuple[int, int, int] = REFERENCE) -> np.ndarray:
    """Scale each channel so `bg` becomes `reference` (rounded half up, clamped to 255)."""
    x = np.asarray(rgb, np.int64)
    ref = np.asarray(reference, np.int64)
    b = np.asarray(bg, np.int64)
    out = (2 * x * ref + b) // (2 * b)
    return np.minimum(out, 255).astype(np.uint8)


def normalise(rgb: np.ndarray, top_permille: int = TOP_PERMILLE, reference: tuple[int, int, int] = REFERENCE,
              min_background: int = MIN_BACKGROUND) -> np.ndarray:
    """The contract: estimate the background of `rgb` (uint8 HxWx3) and map it to `reference`."""
    return apply_gain(rgb, background(rgb, top_permille, min_background), reference)


def normalise_tf(x, top_permille: int = TOP_PERMILLE, reference: tuple[int, int, int] = REFERENCE,
                 min_background: int = MIN_BACKGROUND):
    """Float twin for the training graph: HxWx3 float32 in 0..255 -> the same, normalised."""
    import tensorflow as tf

    s = tf.reshape(tf.reduce_sum(x, -1), [-1])
    n = tf.shape(s)[0]
    want = tf.maximum(1, (n * top_permille + 999) // 1000)
    threshold = tf.math.top_k(s, want, sorted=True).values[-1]
    mask = tf.cast(tf.reshape(s >= threshold, tf.shape(x)[:2]), tf.float32)[..., None]
    bg = tf.reduce_sum(x * mask, [0, 1]) / tf.reduce_sum(mask)
    bg = tf.maximum(bg, float(min_background))
    return tf.minimum(x * tf.constant(reference, tf.float32) / bg, 255.0)


def load_vectors(path: Path = VECTORS) -> list[dict]:
    """The shared test vectors."""
    return json.loads(path.read_text())["cases"]
