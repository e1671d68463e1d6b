"""Measure sanctions screening on the labelled name variants: precision and recall per threshold.

Each query in ``scripts/data/name_variants.csv`` is screened against ``scripts/data/sanctions_list.csv``; a hit on the
expected entry is a true positive, a hit on any other entry a false positive, a miss of the expected entry a false
negative. ``--threshold T`` prints the confusion for one threshold and per script; ``--json`` for machines.

    python scripts/screening_threshold.py            # sweep 70..100
    python scripts/screening_threshold.py --threshold 85
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from gateway.screening.sanctions import SanctionsList

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Variant:
    query: str
    script: str
    expected: str  # list entry id, or "" for a name that is on no list


@dataclass(frozen=True)
class Measure:
    threshold: float
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_variants(path: Path = DATA / "name_variants.csv") -> list[Variant]:
    with path.open(newline="", encoding="utf-8") as f:
        return [Variant(r["query"], r["script"], r["expected"]) for r in csv.DictReader(f)]


def measure(sanctions: SanctionsList, variants: list[Variant]) -> Measure:
    tp = fp = fn = 0
    for v in variants:
        hits = {m.party.entry_id for m in sanctions.screen([v.query])}
        tp += v.expected in hits
        fn += bool(v.expected) and v.expected not in hits
        fp += len(hits - {v.expected})
    return Measure(sanctions.threshold, tp, fp, fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, help="one threshold, with a per-script breakdown")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    variants = load_variants()
    base = SanctionsList.from_csv(DATA / "sanctions_list.csv")
    thresholds = [args.threshold] if args.threshold is not None else [float(t) for t in range(70, 101, 2)]
    rows = []
    for t in thresholds:
        sanctions = SanctionsList(base.parties, t, base.digest)
        m = measure(sanctions, variants)
        row = {**asdict(m), "precision": round(m.precision, 3), "recall": round(m.recall, 3)}
        if args.threshold is not None:
            row["by_script"] = {
                s: {"precision": round(x.precision, 3), "recall": round(x.recall, 3), "fp": x.fp, "fn": x.fn}
                for s in sorted({v.script for v in variants})
                for x in [measure(sanctions, [v for v in variants if v.script == s])]
            }
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'threshold':>9} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    for r in rows:
        print(
            f"{r['threshold']:>9.0f} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} {r['precision']:>9.3f} {r['recall']:>7.3f}"
        )
        for s, x in dict(r.get("by_script", {})).items():
            print(f"  {s:<18} precision {x['precision']:.3f} recall {x['recall']:.3f} fp {x['fp']} fn {x['fn']}")


if __name__ == "__main__":
    main()
