"""Tests of the framing twin (framing.py) against the shared vectors and by construction.

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import framing  # noqa: E402


class FramingBoxTest(unittest.TestCase):
    def test_shared_vectors_give_the_same_boxes_as_rust(self) -> None:
        cases = framing.load_vectors()
        self.assertGreaterEqual(len(cases), 8)
        for c in cases:
            f = float("nan") if c["cell_fraction"] is None else c["cell_fraction"]
            e = c["expect"]
            self.assertEqual(framing.framing_box(tuple(c["cell"]), f),
                             (e["left"], e["top"], e["side"]), c)

    def test_cell_fills_the_fraction_and_stays_centred(self) -> None:
        left, top, side = framing.framing_box((100, 50, 200, 150), 0.4)
        self.assertEqual(side, 250)
        self.assertEqual((left + side / 2, top + side / 2), (150.0, 100.0))

    def test_cut_pads_with_the_background_outside_the_picture(self) -> None:
        rgb = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
        out = framing.cut(rgb, (-2, 8, 4), (9, 9, 9))
        self.assertEqual(out.shape, (4, 4, 3))
        self.assertEqual(out[0, 0].tolist(), [9, 9, 9])
        self.assertEqual(out[0, 2].tolist(), rgb[8, 0].tolist())
        self.assertEqual(out[1, 3].tolist(), rgb[9, 1].tolist())
        self.assertEqual(out[2, 3].tolist(), [9, 9, 9])
        whole = framing.cut(rgb, (0, 0, 10), (0, 0, 0))
        self.assertTrue(np.array_equal(whole, rgb))


if __name__ == "__main__":
    unittest.main()
