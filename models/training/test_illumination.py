"""Tests of the background normalisation (illumination.py) against the shared vectors and by construction.

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import illumination  # noqa: E402


def smear(bg: tuple[float, float, float]) -> np.ndarray:
    """A 40x40 slide of colour `bg` with a stained cell lit by the same lamp (multiplicative)."""
    yy, xx = np.mgrid[0:40, 0:40]
    transmit = np.ones((40, 40, 3))
    transmit[(yy - 20) ** 2 + (xx - 20) ** 2 < 64] = (0.45, 0.3, 0.6)
    transmit[(yy - 8) ** 2 + (xx - 30) ** 2 < 25] = (0.85, 0.6, 0.65)
    return np.round(transmit * np.asarray(bg)).astype(np.uint8)


class IlluminationTest(unittest.TestCase):
    def test_shared_vectors_give_the_same_pixels_as_rust(self) -> None:
        cases = illumination.load_vectors()
        self.assertGreaterEqual(len(cases), 8)
        for c in cases:
            img = np.asarray(c["pixels"], np.uint8).reshape(c["height"], c["width"], 3)
            bg = illumination.background(img, c["top_permille"], c["min_background"])
            self.assertEqual(list(bg), c["expect"]["background"], c["note"])
            out = illumination.apply_gain(img, bg, tuple(c["reference"]))
            self.assertEqual(out.reshape(-1).tolist(), c["expect"]["pixels"], c["note"])

    def test_a_colour_cast_is_removed(self) -> None:
        neutral = illumination.normalise(smear((235, 235, 235)))
        for cast in [(250, 245, 170), (200, 212, 240), (255, 228, 203)]:
            out = illumination.normalise(smear(cast))
            self.assertLessEqual(int(np.abs(out.astype(int) - neutral.astype(int)).max()), 2, cast)
        self.assertEqual(illumination.background(neutral), illumination.REFERENCE)

    def test_the_training_graph_twin_agrees(self) -> None:
        from common import quiet_tensorflow

        quiet_tensorflow()
        import tensorflow as tf

        img = smear((250, 240, 180))
        exact = illumination.normalise(img).astype(np.float32)
        approx = illumination.normalise_tf(tf.constant(img, tf.float32)).numpy()
        self.assertLessEqual(float(np.abs(exact - approx).max()), 1.0)

    def test_metadata_description_names_the_parameters(self) -> None:
        d = illumination.describe()
        self.assertEqual(d["method"], "background_gain")
        self.assertEqual(d["reference"], list(illumination.REFERENCE))
        self.assertEqual(d["top_permille"], illumination.TOP_PERMILLE)


if __name__ == "__main__":
    unittest.main()
