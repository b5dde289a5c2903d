"""Tests of the tally of cells outside the four (outside_four.tally).

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import outside_four  # noqa: E402


class TallyTest(unittest.TestCase):
    def test_only_confident_answers_among_the_four_are_counted(self) -> None:
        rows = [("BASOPHIL", "NEUTROPHIL", 0.9), ("BASOPHIL", "NEUTROPHIL", 0.5), ("BASOPHIL", "BASOPHIL", 0.99),
                ("IG", "IG", 0.7), ("IG", "MONOCYTE", 0.6)]
        t = outside_four.tally(rows, 0.6)
        self.assertEqual(t["n"], 5)
        self.assertEqual(t["per_class"]["BASOPHIL"]["counted_as_one_of_the_four"], 1)
        self.assertAlmostEqual(t["per_class"]["BASOPHIL"]["recall"], 1 / 3)
        self.assertEqual(t["per_class"]["IG"]["counted_as_one_of_the_four"], 1)  # the threshold is inclusive
        self.assertAlmostEqual(t["counted_share_overall"], 2 / 5)
        self.assertEqual(t["per_class"]["BASOPHIL"]["answers"], {"NEUTROPHIL": 2, "BASOPHIL": 1})


if __name__ == "__main__":
    unittest.main()
