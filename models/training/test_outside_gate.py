"""Tests of the outside-the-four gate probe's fit and rule (numpy only).

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outside_gate import choose_gate, fit_logistic, report_extra, report_four  # noqa: E402


class GateTest(unittest.TestCase):
    def test_the_fit_separates_two_clouds(self) -> None:
        rng = np.random.default_rng(1)
        x = np.vstack([rng.normal(-1, 1, (200, 5)), rng.normal(1, 1, (100, 5))])
        y = np.r_[np.zeros(200), np.ones(100)]
        w, b = fit_logistic(x, y, 1e-3)
        acc = np.mean(((x @ w + b) > 0) == (y == 1))
        self.assertGreater(acc, 0.95)

    def test_the_threshold_keeps_false_flags_at_the_rule(self) -> None:
        rng = np.random.default_rng(2)
        x = np.vstack([rng.normal(0, 1, (400, 4)), rng.normal(0.8, 1, (400, 4))])
        y = np.r_[np.zeros(400), np.ones(400)]
        gate = choose_gate(x, y, lambdas=(1e-3, 1e-1), false_flag=0.05)
        self.assertLessEqual(gate["cv_flagged_in_four"], 0.05 + 1e-9)
        self.assertIn(gate["lambda"], (1e-3, 1e-1))
        # Overlapping clouds: the gate catches some of the outside cells, not all.
        self.assertGreater(gate["cv_flagged_outside"], 0.1)
        self.assertLess(gate["cv_flagged_outside"], 1.0)

    def test_reports_count_what_the_gate_keeps_out(self) -> None:
        probs = np.array([[0.9, 0.1, 0, 0], [0.2, 0.7, 0.1, 0], [0.3, 0.3, 0.2, 0.2]])
        flag = np.array([False, True, False])
        four = report_four(flag, probs, ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE"])
        self.assertAlmostEqual(four["raw_accuracy"], 2 / 3)
        self.assertAlmostEqual(four["right_and_not_flagged"], 1 / 3)
        self.assertAlmostEqual(four["flagged_of_wrong"], 0.0)
        extra = report_extra(flag, probs, ["BASOPHIL", "BASOPHIL", "IG"])
        self.assertAlmostEqual(extra["BASOPHIL"]["counted_as_one_of_four_without_gate"], 1.0)
        self.assertAlmostEqual(extra["BASOPHIL"]["counted_as_one_of_four_with_gate"], 0.5)
        self.assertAlmostEqual(extra["IG"]["counted_as_one_of_four_with_gate"], 0.0)


if __name__ == "__main__":
    unittest.main()
