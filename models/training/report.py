"""Print the Python-side validation figures (results/*.json) as Markdown tables for MODEL_CARD.md.

    python3 models/training/report.py [--results models/training/results]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=HERE / "results")
    args = ap.parse_args()

    runs = [json.loads(p.read_text()) for p in sorted(args.results.glob("*__*.json"))]
    print("| model | dataset | n | accuracy | recall EOS | recall LYM | recall MON | recall NEU |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        rec = [pct(r["per_class"][c]["recall"]) for c in r["labels"]]
        print(f"| {r['model']} | {r['dataset']} | {r['n']} | {pct(r['accuracy'])} | " + " | ".join(rec) + " |")
    for r in runs:
        print(f"\nConfusion, {r['model']} on {r['dataset']} (rows = true, columns = predicted):\n")
        print("| true \\ predicted | " + " | ".join(r["labels"]) + " |")
        print("|---" * (len(r["labels"]) + 1) + "|")
        for c, row in zip(r["labels"], r["confusion"]):
            print(f"| {c} | " + " | ".join(str(v) for v in row) + " |")

    sweep_path = args.results / "size_sweep.json"
    if sweep_path.exists():
        sw = json.loads(sweep_path.read_text())
        print(f"\nInput-size sweep (rule: {sw['rule']}; chosen {sw['chosen']}; {sw['latency_note']}):\n")
        print("| size | head-only pbc-wbc4/val acc | head-only kaggle hold-out acc | int8 median ms | float32 median ms |")
        print("|---:|---:|---:|---:|---:|")
        for s, v in sw["sizes"].items():
            hold = pct(v["kaggle_holdout_acc_head"]) if v["kaggle_holdout_acc_head"] is not None else "-"
            print(f"| {s} | {pct(v['pbc_val_acc_head'])} | {hold} | {v['int8_latency']['median_ms']:.2f} | "
                  f"{v['float32_latency']['median_ms']:.2f} |")


if __name__ == "__main__":
    main()
