"""Tests of the twin grouping (twins.py) on made-up descriptors and images.

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import twins  # noqa: E402


def cloud(centre: np.ndarray, n: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    return centre + rng.normal(0.0, spread, (n, centre.size))


class LinkTest(unittest.TestCase):
    def test_twins_of_two_cells_form_two_groups(self) -> None:
        rng = np.random.default_rng(1)
        a = cloud(np.zeros(8), 20, 0.005, rng)
        b = cloud(np.full(8, 0.2), 20, 0.005, rng)
        group = twins.link(np.concatenate([a, b]))
        self.assertEqual(len(set(group[:20])), 1)
        self.assertEqual(len(set(group[20:])), 1)
        self.assertNotEqual(group[0], group[20])

    def test_a_fragment_joins_its_nearest_group(self) -> None:
        rng = np.random.default_rng(2)
        a = cloud(np.zeros(8), 10, 0.005, rng)
        b = cloud(np.full(8, 0.3), 10, 0.005, rng)
        fragment = np.full((1, 8), 0.25)  # beyond the twin distance of both, nearer b
        group = twins.link(np.concatenate([a, b, fragment]))
        self.assertEqual(group[20], group[10])
        self.assertEqual(len(set(group)), 2)

    def test_only_fragments_stay_apart(self) -> None:
        group = twins.link(np.array([[0.0], [1.0], [2.0]]))
        self.assertEqual(sorted(group.tolist()), [0, 1, 2])

    def test_empty_input(self) -> None:
        self.assertEqual(len(twins.link(np.zeros((0, 3)))), 0)


class DescriptorTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        frame = np.full((240, 320, 3), 230, np.uint8)  # pale background
        yy, xx = np.mgrid[:240, :320]
        nucleus = (yy - 100) ** 2 / 900 + (xx - 150) ** 2 / 1600 < 1  # an ellipse
        frame[nucleus] = (110, 40, 200)  # stained purple
        frame[(yy - 30) ** 2 + (xx - 40) ** 2 < 16] = (120, 50, 190)  # a platelet
        self.frame = frame

    def tearDown(self) -> None:
        self.dir.cleanup()

    def save(self, name: str, rgb: np.ndarray) -> Path:
        path = self.root / name
        Image.fromarray(rgb).save(path)  # PNG: lossless
        return path

    def test_rotation_flip_and_shift_keep_the_descriptor(self) -> None:
        d = twins.stain_descriptor(self.save("a.png", self.frame))
        moved = np.roll(np.rot90(self.frame[:, ::-1]), 20, axis=0)
        e = twins.stain_descriptor(self.save("b.png", np.ascontiguousarray(moved)))
        self.assertIsNotNone(d)
        self.assertIsNotNone(e)
        self.assertLess(float(np.linalg.norm(d - e)), 0.01)

    def test_another_cell_is_far(self) -> None:
        other = np.full_like(self.frame, 230)
        yy, xx = np.mgrid[:240, :320]
        other[(yy - 120) ** 2 + (xx - 160) ** 2 < 400] = (60, 20, 150)  # small, darker
        d = twins.stain_descriptor(self.save("a.png", self.frame))
        e = twins.stain_descriptor(self.save("c.png", other))
        self.assertGreater(float(np.linalg.norm(d - e)), twins.TWIN_DISTANCE)

    def test_a_frame_without_stain_has_no_descriptor(self) -> None:
        blank = np.full_like(self.frame, 230)
        self.assertIsNone(twins.stain_descriptor(self.save("blank.png", blank)))


if __name__ == "__main__":
    unittest.main()
