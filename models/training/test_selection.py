"""Tests of the selection score (train.selection_score) and the head file (train.head_json).

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import json
import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CLASSES, quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import train  # noqa: E402


class SelectionScoreTest(unittest.TestCase):
    def test_mean_of_the_selection_sets(self) -> None:
        s = train.selection_score({"pbc_val_acc": 0.99, "pbc_extra_val_acc": 0.90, "kaggle_holdout_acc": 0.78})
        self.assertAlmostEqual(s, (0.99 + 0.90 + 0.78) / 3)

    def test_a_missing_set_is_left_out_and_none_at_all_is_refused(self) -> None:
        self.assertAlmostEqual(train.selection_score({"a": 0.5, "b": None}), 0.5)
        with self.assertRaises(ValueError):
            train.selection_score({"a": None})


class HeadJsonTest(unittest.TestCase):
    def test_weights_read_back_as_the_same_float32(self) -> None:
        rng = np.random.default_rng(3)
        kernel = rng.normal(0, 0.1, (16, len(CLASSES))).astype(np.float32)
        bias = rng.normal(0, 0.1, len(CLASSES)).astype(np.float32)
        head = json.loads(train.head_json(kernel, bias))
        self.assertEqual(head["embedding_size"], 16)
        self.assertEqual(head["classes"], len(CLASSES))
        self.assertEqual(head["labels"], CLASSES)
        np.testing.assert_array_equal(np.asarray(head["kernel"], np.float32), kernel)
        np.testing.assert_array_equal(np.asarray(head["bias"], np.float32), bias)


class LimitTest(unittest.TestCase):
    def test_limit_keeps_the_first_items_of_each_class(self) -> None:
        items = [("a", 0), ("b", 0), ("c", 1), ("d", 0), ("e", 1)]
        self.assertEqual(train.limit_per_class(items, 1), [("a", 0), ("c", 1)])
        self.assertEqual(train.limit_per_class(items, None), items)


if __name__ == "__main__":
    unittest.main()
