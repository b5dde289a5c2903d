"""Tests of the outside-the-four gate probe's fit and rule (numpy only).

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outside_gate import (  # noqa: E402
    choose_gate, fit_logistic, gate_file, record_gate, report_extra, report_four)


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


class GateFileTest(unittest.TestCase):
    def test_the_folded_gate_scores_raw_embeddings_as_the_fit_scores_standardised_ones(self) -> None:
        rng = np.random.default_rng(3)
        x = rng.normal(2.0, 3.0, (50, 6))
        mean, std = x.mean(0), x.std(0) + 1e-6
        gate = {"w": rng.normal(0, 1, 6), "b": 0.3, "threshold": -0.2, "lambda": 0.01}
        result = {"rule": "r", "training_cells": {"a": 50}}
        file = gate_file(gate, mean, std, result)
        self.assertEqual(file["embedding_size"], 6)
        folded = x @ np.array(file["weights"]) + file["bias"]
        fitted = ((x - mean) / std) @ gate["w"] + gate["b"]
        np.testing.assert_allclose(folded, fitted, atol=1e-4)
        self.assertEqual(list(folded > file["threshold"]), list(fitted > gate["threshold"]))

    def test_the_gate_is_recorded_with_its_digest_in_the_metadata_beside_it(self) -> None:
        import hashlib
        import json
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "gate.json").write_text('{"format": "hematovision-gate/1"}\n')
            (folder / "metadata.json").write_text(json.dumps({"name": "m", "sha256": {"m.tflite": "ab"}}))
            record_gate(folder / "gate.json")
            meta = json.loads((folder / "metadata.json").read_text())
            self.assertEqual(meta["gate"]["file"], "gate.json")
            digest = hashlib.sha256((folder / "gate.json").read_bytes()).hexdigest()
            self.assertEqual(meta["sha256"], {"m.tflite": "ab", "gate.json": digest})
