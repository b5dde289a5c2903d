"""Tests of the pin reader of run_tests.py (standard library only).

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_tests import REQUIREMENTS, missing, pins  # noqa: E402

TEXT = """# comment
tensorflow-cpu==2.21.0; platform_machine == "x86_64"
tensorflow==2.21.0; platform_machine == "aarch64"

numpy==2.4.6  # trailing comment
"""


class PinsTest(unittest.TestCase):
    def test_markers_choose_the_machine_s_pins(self) -> None:
        self.assertEqual(pins(TEXT, "x86_64"), [("tensorflow-cpu", "2.21.0"), ("numpy", "2.4.6")])
        self.assertEqual(pins(TEXT, "aarch64"), [("tensorflow", "2.21.0"), ("numpy", "2.4.6")])

    def test_an_unpinned_line_is_an_error_naming_it(self) -> None:
        with self.assertRaisesRegex(ValueError, r"line 2: 'numpy>=2'"):
            pins("keras==3.15.1\nnumpy>=2\n", "x86_64")

    def test_the_shipped_requirements_pin_every_package_on_both_targets(self) -> None:
        text = REQUIREMENTS.read_text()
        for machine in ("x86_64", "aarch64"):
            names = {n for n, _ in pins(text, machine)}
            self.assertEqual(len(names), 5, machine)
            self.assertIn("numpy", names)

    def test_missing_names_what_differs(self) -> None:
        self.assertEqual(missing([("no-such-package-hv", "1.0")]), ["no-such-package-hv==1.0 (have none)"])
        self.assertEqual(missing([]), [])


if __name__ == "__main__":
    unittest.main()
