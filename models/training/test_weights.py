"""Tests of the fine-tuning sample weights (train.balanced_weights); needs TensorFlow, as train.py does.

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import balanced_weights  # noqa: E402

# source 0 = kaggle-wbc4, 1 = pbc-wbc4; class cells of very different sizes
LABELS = np.array([0] * 6 + [1] * 2 + [0] * 3 + [1] * 9)
SOURCES = np.array([0] * 8 + [1] * 12)


def totals(w: np.ndarray) -> dict[tuple[int, int], float]:
    return {(s, c): float(w[(SOURCES == s) & (LABELS == c)].sum()) for s in (0, 1) for c in (0, 1)}


class BalancedWeightsTest(unittest.TestCase):
    def test_every_source_class_cell_weighs_the_same(self) -> None:
        w = balanced_weights(LABELS, SOURCES)
        t = totals(w)
        for v in t.values():
            self.assertAlmostEqual(v, t[(1, 1)], places=5)
        self.assertAlmostEqual(float(w.mean()), 1.0, places=5)

    def test_kaggle_weight_scales_the_kaggle_cells(self) -> None:
        w = balanced_weights(LABELS, SOURCES, kaggle_weight=2.0)
        t = totals(w)
        for c in (0, 1):
            self.assertAlmostEqual(t[(0, c)], 2.0 * t[(1, c)], places=5)
        self.assertAlmostEqual(float(w.mean()), 1.0, places=5)


if __name__ == "__main__":
    unittest.main()
