"""Tests of the model digests written to metadata.json (common.model_digests).

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import model_digests  # noqa: E402


class ModelDigestsTest(unittest.TestCase):
    def test_digests_are_sha256sum_of_each_file_by_name(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            a, b = Path(tmp) / "m.tflite", Path(tmp) / "m-float32.tflite"
            a.write_bytes(b"abc")
            b.write_bytes(b"")
            d = model_digests([a, b])
        self.assertEqual(d["m.tflite"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        self.assertEqual(d["m-float32.tflite"], hashlib.sha256(b"").hexdigest())

    def test_shipped_metadata_matches_the_shipped_models(self) -> None:
        models = HERE.parent
        meta = json.loads((models / "metadata.json").read_text())
        files = [models / "hematovision-wbc4.tflite", models / "hematovision-wbc4-float32.tflite"]
        if "head" in meta:  # since 1.3.1 the head's weights are a file of the bundle too
            files.append(models / meta["head"]["file"])
        if "gate" in meta:  # and the unfamiliar-cell gate (outside_gate.py --write-gate)
            files.append(models / meta["gate"]["file"])
        self.assertEqual(meta["sha256"], model_digests(files))


if __name__ == "__main__":
    unittest.main()
