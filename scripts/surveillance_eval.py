"""Measure surveillance on the labelled synthetic market: precision, recall and PR-AUC per typology for the rules,
the anomaly model, and both combined.

The market (``scripts/surveillance_market.py``, seeded) is split in time: the model learns each member's normal from
the first ``--train-days`` (unlabelled, injected cases included, as in production), and everything is measured on the
later, held-out days. The rules replay the whole stream (they need the history) and are scored on the held-out days
only. Per typology, the population is the held-out normal trades plus that typology's trades, and the alerts are
those of the rules that target the typology (rules), every model alert (model: it names no typology, so all its
false alerts count against each), or both (combined); the ``all`` row takes every rule. A model alert is a normalized
score at or above ``alert_score``. PR-AUC is average precision over the scores (rules: the hit's score, 0 without a
hit; combined: rule hits rank above all model scores). ``alerts per member-day`` is normal trades alerted per
member-day with activity: the analyst's queue.

    python scripts/surveillance_eval.py --seed 7          # table
    python scripts/surveillance_eval.py --seed 7 --json   # machine-readable
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.surveillance.features import feature_rows
from gateway.surveillance.model import AnomalyModel, ModelParams
from gateway.surveillance.rules import default_rules, run_rules
from gateway.surveillance.trades import DAY, Typology
from scripts.surveillance_market import START, LabelledTrade, MarketParams, generate

SYSTEMS = ("rules", "model", "combined")


@dataclass(frozen=True)
class Score:
    system: str
    typology: str
    positives: int
    alerts: int
    precision: float
    recall: float
    pr_auc: float


@dataclass(frozen=True)
class Evaluation:
    seed: int
    train_days: int
    held_out_trades: int
    member_days: int
    alerts_per_member_day: dict[str, float]
    scores: list[Score]
    seconds: float

    def get(self, system: str, typology: str) -> Score:
        return next(s for s in self.scores if s.system == system and s.typology == typology)


def _score(system: str, typology: str, labels: list[bool], alerts: list[bool], ranks: list[float]) -> Score:
    tp = sum(a and y for a, y in zip(alerts, labels, strict=True))
    flagged, positives = sum(alerts), sum(labels)
    return Score(
        system,
        typology,
        positives,
        flagged,
        round(tp / flagged, 3) if flagged else 0.0,
        round(tp / positives, 3) if positives else 0.0,
        round(float(average_precision_score(labels, ranks)), 3) if positives else 0.0,
    )


def evaluate(
    market: list[LabelledTrade], *, seed: int, train_days: int = 60, params: ModelParams | None = None
) -> Evaluation:
    started = time.monotonic()
    params = params or ModelParams(seed=seed)
    trades = [lt.trade for lt in market]
    label = {lt.trade.trade_id: lt.typology for lt in market}
    by_typology: dict[Typology | None, dict[str, float]] = {t: {} for t in [*Typology, None]}
    for hit in run_rules(default_rules(), trades):
        for trade_id in hit.trade_ids:
            for key in (hit.typology, None):
                by_typology[key][trade_id] = max(by_typology[key].get(trade_id, 0.0), hit.score)
    rows = feature_rows(trades)
    split = START // DAY + train_days
    train = [t for t in trades if t.day < split]
    held = [t for t in trades if t.day >= split]
    model = AnomalyModel.train(train, rows, params)
    model_score: dict[str, float] = {}
    by_member: dict[str, list[str]] = {}
    for t in held:
        by_member.setdefault(t.member, []).append(t.trade_id)
    for member, ids in by_member.items():
        model_score.update(zip(ids, model.score(member, [rows[i] for i in ids]), strict=True))

    def alert(system: str, trade_id: str, rule_score: dict[str, float]) -> bool:
        by_rules, by_model = trade_id in rule_score, model_score[trade_id] >= params.alert_score
        return by_rules if system == "rules" else by_model if system == "model" else by_rules or by_model

    def rank(system: str, trade_id: str, rule_score: dict[str, float]) -> float:
        squashed = 1 / (1 + math.exp(-model_score[trade_id]))  # (0, 1): below every rule hit's 1 + score
        if system == "rules":
            return rule_score.get(trade_id, 0.0)
        return squashed if system == "model" else 1 + rule_score[trade_id] if trade_id in rule_score else squashed

    member_days = len({(t.member, t.day) for t in held})
    normal = [t.trade_id for t in held if label[t.trade_id] is Typology.NORMAL]
    scores = []
    injected = [t for t in Typology if t is not Typology.NORMAL and t in set(label.values())]
    for typology in [*injected, None]:  # typologies the market does not inject: their rules' alerts count in "all"
        population = [
            t.trade_id for t in held if label[t.trade_id] is Typology.NORMAL or typology in (None, label[t.trade_id])
        ]
        labels = [label[i] is not Typology.NORMAL for i in population]
        rule_score = by_typology[typology]
        for system in SYSTEMS:
            scores.append(
                _score(
                    system,
                    typology.value if typology else "all",
                    labels,
                    [alert(system, i, rule_score) for i in population],
                    [rank(system, i, rule_score) for i in population],
                )
            )
    return Evaluation(
        seed,
        train_days,
        len(held),
        member_days,
        {s: round(sum(alert(s, i, by_typology[None]) for i in normal) / member_days, 4) for s in SYSTEMS},
        scores,
        round(time.monotonic() - started, 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=MarketParams.seed)
    parser.add_argument("--days", type=int, default=MarketParams.days)
    parser.add_argument("--train-days", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    market = generate(MarketParams(seed=args.seed, days=args.days))
    result = evaluate(market, seed=args.seed, train_days=args.train_days)
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return
    print(
        f"seed {result.seed}: {len(market)} trades, model trained on days 0-{result.train_days - 1}, "
        f"held out {result.held_out_trades} trades over {result.member_days} member-days ({result.seconds} s)"
    )
    print(f"{'typology':<20} {'n':>4} | " + " | ".join(f"{s:^24}" for s in SYSTEMS))
    print(f"{'':<20} {'':>4} | " + " | ".join(f"{'prec':>7} {'recall':>7} {'PR-AUC':>7}" for _ in SYSTEMS))
    for typology in dict.fromkeys(s.typology for s in result.scores):
        cells = [result.get(s, typology) for s in SYSTEMS]
        print(
            f"{typology:<20} {cells[0].positives:>4} | "
            + " | ".join(f"{c.precision:>7.3f} {c.recall:>7.3f} {c.pr_auc:>7.3f}" for c in cells)
        )
    print(
        "normal trades alerted per member-day: "
        + ", ".join(f"{s} {v:.4f}" for s, v in result.alerts_per_member_day.items())
    )


if __name__ == "__main__":
    main()
