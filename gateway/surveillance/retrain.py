"""Retraining: learn every member's normal from a window of trades, measure it, and save it as a new version.

Metrics recorded on the card: the in-sample alert rate (alerts per member-day at the alert score: the queue an
analyst would get if the window repeated), and where the trades carry labels (the synthetic market's ``typology``),
the model's precision, recall and PR-AUC on them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sklearn.metrics import average_precision_score

from gateway.surveillance import registry
from gateway.surveillance.features import feature_rows
from gateway.surveillance.model import AnomalyModel, ModelParams
from gateway.surveillance.trades import Trade, Typology, trade_from_json


def read_trades(path: Path) -> tuple[list[Trade], dict[str, Typology]]:
    """Trades from JSON lines, and their labels where a line has one."""
    trades, labels = [], {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            trade = trade_from_json(row)
            trades.append(trade)
            if "typology" in row:
                labels[trade.trade_id] = Typology(row["typology"])
    return trades, labels


def retrain(
    trades: Sequence[Trade],
    directory: Path,
    *,
    labels: dict[str, Typology] | None = None,
    since: int | None = None,
    until: int | None = None,
    params: ModelParams | None = None,
) -> registry.ModelCard:
    """Train on the trades inside [since, until] (features use every earlier trade as history) and save."""
    params = params or ModelParams()
    rows = feature_rows(trades)
    window = [t for t in trades if (since is None or t.time >= since) and (until is None or t.time <= until)]
    model = AnomalyModel.train(window, rows, params)
    scores: dict[str, float] = {}
    for member in {t.member for t in window}:
        own = [t for t in window if t.member == member]
        scores.update(zip((t.trade_id for t in own), model.score(member, [rows[t.trade_id] for t in own]), strict=True))
    member_days = len({(t.member, t.day) for t in window})
    alerted = [i for i, s in scores.items() if s >= params.alert_score]
    metrics = {"alerts_per_member_day": round(len(alerted) / member_days, 4), "member_days": float(member_days)}
    if labels:
        truth = [labels.get(t.trade_id, Typology.NORMAL) is not Typology.NORMAL for t in window]
        if any(truth):
            hits = sum(truth[k] for k, t in enumerate(window) if scores[t.trade_id] >= params.alert_score)
            metrics["precision"] = round(hits / len(alerted), 3) if alerted else 0.0
            metrics["recall"] = round(hits / sum(truth), 3)
            metrics["pr_auc"] = round(float(average_precision_score(truth, [scores[t.trade_id] for t in window])), 3)
    times = [t.time for t in window]
    return registry.save(
        model,
        directory,
        window=(min(times), max(times)),
        trades=len(window),
        members=len({t.member for t in window}),
        metrics=metrics,
    )
