"""Shared constants and the preprocessing contract of the HematoVision classifier.

The preprocessing here is the contract written to ``models/metadata.json`` and
implemented again by the Rust daemon; training, export and evaluation all go
through :func:`load_square_rgb` and :func:`contract_preprocess` so they cannot
drift apart.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

#: Model output order, upper case, same as the dataset folders: the four classes of versions
#: 1.x first (alphabetical), then the three PBC classes outside them (pbc-extra, since 2.0).
FOUR = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]
EXTRA = ["BASOPHIL", "ERYTHROBLAST", "IG"]
CLASSES = FOUR + EXTRA
MEAN = 127.5
STD = 127.5
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
WEIGHTS_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def model_digests(paths: list[Path]) -> dict[str, str]:
    """The sha256 of each model file by file name, for metadata.json's "sha256" key.

    The daemon refuses a model whose bytes no longer match (a damaged copy can abort the
    runtime or silently change answers); keyed by name because the int8 and float32 models
    share one metadata file.
    """
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up chatter (must run before importing it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def list_labelled(root: Path) -> list[tuple[Path, int]]:
    """Return (path, class index) for every image in root/CLASS/*, sorted.

    Class folders are matched case-insensitively; unknown folders are an error
    so a typo never silently drops a class.
    """
    items: list[tuple[Path, int]] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        name = sub.name.upper()
        if name not in CLASSES:
            raise ValueError(f"{sub}: folder is not one of the classes {CLASSES}")
        label = CLASSES.index(name)
        for f in sorted(sub.iterdir()):
            if f.suffix.lower() in IMAGE_EXTS:
                items.append((f, label))
    if not items:
        raise ValueError(f"{root}: no images found in CLASS/ sub-folders")
    return items


def load_square_rgb(path: Path, illumination: bool = False) -> np.ndarray:
    """Decode to RGB uint8, normalise the background (illumination.normalise, on the whole
    picture) if asked, and take the central square of side min(w, h).

    Offset = floor((larger - smaller) / 2), as the daemon does.
    """
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if illumination:
        import illumination as ill

        arr = ill.normalise(arr)
    h, w = arr.shape[:2]
    s = min(h, w)
    top = (h - s) // 2
    left = (w - s) // 2
    return arr[top : top + s, left : left + s]


def resize_bilinear(square: np.ndarray, size: int) -> np.ndarray:
    """tf.image.resize(float32, (size, size), bilinear, antialias=False) -> float32 in 0..255."""
    import tensorflow as tf

    x = tf.convert_to_tensor(square, dtype=tf.float32)
    y = tf.image.resize(x, (size, size), method="bilinear", antialias=False)
    return y.numpy()


def normalize(x: np.ndarray) -> np.ndarray:
    """(x - 127.5) / 127.5: 0..255 -> -1..1 (float32)."""
    return ((np.asarray(x, dtype=np.float32) - MEAN) / STD).astype(np.float32)


def contract_preprocess(path: Path, size: int, illumination: bool = False) -> np.ndarray:
    """The full contract: decode, [background normalisation,] centre square, bilinear resize,
    normalise. HxWx3 float32."""
    return normalize(resize_bilinear(load_square_rgb(path, illumination), size))
