"""Tests of the fine-tuning weight average (averaging.py); numpy only.

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from averaging import WeightAverager, keep_average  # noqa: E402


def weights(value: float) -> list[np.ndarray]:
    return [np.full((2, 3), value, np.float32), np.full(4, -value, np.float32)]


class WeightAveragerTest(unittest.TestCase):
    def test_mean_of_the_epochs_from_start_on(self) -> None:
        avg = WeightAverager(3)
        for epoch, value in enumerate([100.0, 100.0, 1.0, 2.0, 6.0], start=1):
            avg.add(epoch, weights(value))
        self.assertEqual(avg.count, 3)
        self.assertEqual(avg.label(), "mean of 3-5")
        mean = avg.mean()
        np.testing.assert_array_equal(mean[0], np.full((2, 3), 3.0, np.float32))
        np.testing.assert_array_equal(mean[1], np.full(4, -3.0, np.float32))
        self.assertEqual(mean[0].dtype, np.float32)

    def test_weights_that_never_change_come_back_unchanged(self) -> None:
        frozen = np.float32(0.1) * np.arange(1, 7, dtype=np.float32)
        avg = WeightAverager(1)
        for epoch in range(1, 8):
            avg.add(epoch, [frozen])
        np.testing.assert_array_equal(avg.mean()[0], frozen)

    def test_adding_does_not_keep_a_reference_to_the_first_weights(self) -> None:
        first = weights(1.0)
        avg = WeightAverager(1)
        avg.add(1, first)
        avg.add(2, weights(3.0))
        np.testing.assert_array_equal(first[0], np.full((2, 3), 1.0, np.float32))
        np.testing.assert_array_equal(avg.mean()[0], np.full((2, 3), 2.0, np.float32))

    def test_start_zero_is_off(self) -> None:
        avg = WeightAverager(0)
        for epoch in range(1, 4):
            avg.add(epoch, weights(1.0))
        self.assertEqual(avg.count, 0)


class KeepAverageTest(unittest.TestCase):
    def test_average_kept_within_the_tolerance(self) -> None:
        self.assertTrue(keep_average(887 / 889, 887 / 889, 889, 2))
        self.assertTrue(keep_average(885 / 889, 887 / 889, 889, 2))
        self.assertTrue(keep_average(888 / 889, 886 / 889, 889, 2))

    def test_an_epoch_better_by_more_than_the_tolerance_wins(self) -> None:
        self.assertFalse(keep_average(884 / 889, 887 / 889, 889, 2))
        self.assertFalse(keep_average(886 / 889, 887 / 889, 889, 0))


if __name__ == "__main__":
    unittest.main()
