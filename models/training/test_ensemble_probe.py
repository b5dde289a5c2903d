"""Tests of the ensemble probe's scoring (numpy only).

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import argparse
import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ensemble_probe import combination_accuracies, named  # noqa: E402


class CombinationTest(unittest.TestCase):
    def test_the_mean_can_beat_each_model(self) -> None:
        labels = np.array([0, 1])
        # a is unsure and wrong on the first image, b unsure and wrong on the second; each is
        # sure where it is right, so the mean follows the sure model on both.
        a = np.array([[0.4, 0.6], [0.0, 1.0]])
        b = np.array([[0.9, 0.1], [0.6, 0.4]])
        acc = combination_accuracies({"a": a, "b": b}, labels)
        self.assertEqual(list(acc), ["a", "b", "a+b"])
        self.assertEqual(acc["a"], 0.5)
        self.assertEqual(acc["b"], 0.5)
        # mean: [0.65, 0.35] -> 0 (right), [0.3, 0.7] -> 1 (right)
        self.assertEqual(acc["a+b"], 1.0)

    def test_three_models_give_seven_combinations(self) -> None:
        p = np.eye(3)
        acc = combination_accuracies({"x": p, "y": p, "z": p}, np.arange(3))
        self.assertEqual(len(acc), 7)
        self.assertTrue(all(v == 1.0 for v in acc.values()))

    def test_named_needs_both_halves(self) -> None:
        self.assertEqual(named("a=b/c.tflite"), ("a", Path("b/c.tflite")))
        for bad in ("a", "=b", "a="):
            with self.assertRaises(argparse.ArgumentTypeError):
                named(bad)


if __name__ == "__main__":
    unittest.main()
