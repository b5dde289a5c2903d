"""How often cells of the classes outside the four are counted as one of the four.

Runs the daemon's own path (`hematovision classify --json`, 8 views as metadata.json says) on
every picture of DIR/CLASS/* and reports, per true class, the share whose answer is one of the
four (EOSINOPHIL, LYMPHOCYTE, MONOCYTE, NEUTROPHIL) with at least the confidence threshold (such a
cell would enter the differential as a normal cell), the share answered as its own class, and the
answers:

    python3 models/training/outside_four.py --bin target/release/hematovision \
        --model models/hematovision-wbc4.tflite --out models/training/results/NAME.json \
        ../shared/datasets/pbc-extra/val
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

FOUR = ("EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL")
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}


def tally(rows: list[tuple[str, str, float]], threshold: float) -> dict:
    """rows: (true class, answered label, confidence) -> per-class figures (see the module doc)."""
    out: dict = {}
    for cls in sorted({t for t, _, _ in rows}):
        mine = [(lbl, conf) for t, lbl, conf in rows if t == cls]
        n = len(mine)
        counted = sum(1 for lbl, conf in mine if lbl.upper() in FOUR and conf >= threshold)
        out[cls] = {"n": n,
                    "counted_as_one_of_the_four": counted,
                    "counted_share": counted / n,
                    "recall": sum(1 for lbl, _ in mine if lbl.upper() == cls.upper()) / n,
                    "answers": dict(Counter(lbl for lbl, _ in mine))}
    n = len(rows)
    counted = sum(v["counted_as_one_of_the_four"] for v in out.values())
    return {"threshold": threshold, "n": n, "counted_share_overall": counted / n if n else 0.0, "per_class": out}


def classify(binary: Path, model: Path, files: list[Path]) -> list[dict]:
    """One `hematovision classify --json` run over `files`; the parsed JSON lines."""
    done = subprocess.run([str(binary), "classify", "--json", "--model", str(model), *map(str, files)],
                          capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip().startswith("{")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--threshold", type=float, default=0.6, help="the daemon's confidence threshold")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("dirs", type=Path, nargs="+", help="trees DIR/CLASS/*")
    args = ap.parse_args()
    rows = []
    for d in args.dirs:
        for sub in sorted(p for p in d.iterdir() if p.is_dir()):
            files = sorted(f for f in sub.iterdir() if f.suffix.lower() in IMAGE_EXTS)
            for r in classify(args.bin, args.model, files):
                rows.append((sub.name.upper(), str(r["label"]), float(r["confidence"])))
    res = tally(rows, args.threshold)
    res.update({"model": str(args.model), "sets": [str(d) for d in args.dirs],
                "command": "hematovision classify --json (views from metadata.json)"})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: res[k] for k in ("n", "counted_share_overall")}),
          {c: (round(v["counted_share"], 4), round(v["recall"], 4)) for c, v in res["per_class"].items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
