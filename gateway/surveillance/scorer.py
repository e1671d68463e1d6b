"""Live scoring: each agreed trade from the gateway's feed through every rule and the anomaly model, as it comes.

The same rules and features as the evaluation (``scripts/surveillance_eval.py``) run here one trade at a time, so
what is measured there is what runs live. A repo is booked by its seller (the cash borrower, the member delivering
collateral): rules look at both sides through the tape, the model at the seller's own normal. No network, no
database: ``gateway.surveillance.watcher`` feeds it and sends what it returns."""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from gateway.surveillance.exceptions import SurveillanceError
from gateway.surveillance.features import FeatureState
from gateway.surveillance.model import AnomalyModel
from gateway.surveillance.rules import Rule, Tape, default_rules
from gateway.surveillance.rules.events import EventHit, EventRule, default_event_rules
from gateway.surveillance.trades import DAY, Hit, Side, Trade, Typology

logger = logging.getLogger(__name__)

# How serious each typology is by default: high ones (a trade that only paints volume, or moves value in a circle)
# go to a case whose close needs four eyes.
SEVERITY: dict[str, str] = {
    Typology.WASH.value: "high",
    Typology.ROUND_TRIP.value: "high",
    Typology.OFF_MARKET.value: "medium",
    Typology.LAYERING.value: "medium",
    Typology.DORMANT_THEN_LARGE.value: "medium",
    Typology.SIZE_OUTLIER.value: "medium",
    Typology.NEW_COUNTERPARTY_AT_SIZE.value: "medium",
    Typology.COLLATERAL_CONCENTRATION.value: "medium",
    "kyc_lapsed": "high",
    "rapid_open_close": "medium",
    "repeated_failures": "medium",
    "sanctions_rescreen": "high",
}
# Feed actions on an organization that end (or restore) its standing: activity while it lapsed is alerted. A
# renewal restores it: an officer's approval of the member's new application (on the application; the feed names
# its organization) or, when the registry's writes go through the outbox, the renewal final on chain.
LAPSING = {"kyc.expired": "expired", "kyc.revoke": "revoked", "kyc.freeze": "frozen"}
RESTORING = {"kyc.unfreeze", "kyc.approved", "chain.kyc_renew.final", "chain.kyc_register.final"}
EVIDENCE_TRADES = 10_000  # agreed trades kept in memory to cite as evidence


@dataclass(frozen=True)
class Alert:
    """An alert for ``POST /v1/surveillance/alerts`` (its body is ``asdict`` with ``observed_at`` ISO)."""

    key: str
    source: str
    detector: str
    typology: str
    severity: str
    score: float
    organization_id: str
    subject: str
    reason: str
    top_features: list[dict[str, float | str]]
    evidence: dict[str, Any]
    observed_at: str

    def body(self) -> dict[str, Any]:
        return asdict(self)


R = TypeVar("R")


def _seconds(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp())


def _configure(rules: list[R], settings: dict[str, dict[str, float]]) -> list[R]:
    out: list[R] = []
    for rule in rules:
        name = str(rule.name)  # type: ignore[attr-defined]
        fields = settings.get(name, {})
        allowed = {f.name for f in dataclasses.fields(rule) if f.init} - {"name"}  # type: ignore[arg-type]
        if bad := set(fields) - allowed:
            raise SurveillanceError(f"rule {name}: unknown settings {sorted(bad)} (known: {sorted(allowed)})")
        out.append(dataclasses.replace(rule, **fields) if fields else rule)  # type: ignore[type-var]
    return out


def _check_names(settings: dict[str, dict[str, float]]) -> None:
    names = {r.name for r in default_rules()} | {r.name for r in default_event_rules()}
    if unknown := set(settings) - names:
        raise SurveillanceError(f"unknown rules in the configuration: {sorted(unknown)} (known: {sorted(names)})")


def configured_rules(settings: dict[str, dict[str, float]]) -> list[Rule]:
    """The default rules with the operator's settings (config ``rules``: by rule name, field -> value); an unknown
    rule or field is refused rather than ignored, so a typo cannot silently switch a rule back to its default."""
    _check_names(settings)
    return _configure(default_rules(), settings)


def configured_event_rules(settings: dict[str, dict[str, float]]) -> list[EventRule]:
    """The activity rules (``rules.events``) with the operator's settings, from the same ``rules`` section."""
    _check_names(settings)
    return _configure(default_event_rules(), settings)


def trade_of(item: dict[str, Any], reference_bps: dict[str, float]) -> Trade:
    """The surveillance view of one feed item's agreed trade. Its reference rate is the GC market's fixing the feed
    attaches (same currency, nearest tenor, the latest day before the trade), else the operator's configured rate
    for its cash token, else the trade's own rate (no spread: the off-market rule then has nothing to say)."""
    t = item["trade"]
    rate_bps = int(t["rate"]) / 10**14
    fixing = t.get("reference_rate")
    configured = reference_bps.get(t["cash_token"].lower(), rate_bps)
    maturity, start = int(t["maturity"]), int(t["start_time"])
    return Trade(
        trade_id=t["trade_id"],
        time=_seconds(item["at"]),
        member=t["seller_org"],
        counterparty=t["buyer_org"],
        side=Side.BORROW,
        cash=int(t["purchase_price"]) / 10 ** int(t["cash_decimals"]),
        rate_bps=rate_bps,
        reference_bps=int(fixing) / 10**14 if fixing is not None else configured,
        tenor_days=max(0, (maturity - start) // DAY) if maturity else 0,
        haircut_bps=int(t["haircut_bps"]),
        collateral=t["collateral_token"].lower(),
    )


@dataclass
class Scorer:
    rules: list[Rule] = field(default_factory=default_rules)
    event_rules: list[EventRule] = field(default_factory=default_event_rules)
    model: AnomalyModel | None = None
    model_version: int = 0
    reference_bps: dict[str, float] = field(default_factory=dict)
    tape: Tape = field(default_factory=Tape)
    features: FeatureState = field(default_factory=FeatureState)
    seen: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    lapsed: dict[str, str] = field(default_factory=dict)  # organization id -> why its KYC no longer stands

    def handle(self, item: dict[str, Any]) -> list[Alert]:
        """Learn one feed item and return its alerts (none for items that are not a newly agreed trade)."""
        if item["object_type"] == "organization" and item["action"] in LAPSING:
            self.lapsed[item["object_id"]] = LAPSING[item["action"]]
        if item["action"] in RESTORING:
            org = item.get("organization_id") or (item["object_id"] if item["object_type"] == "organization" else "")
            self.lapsed.pop(str(org), None)
        events = [self._event_alert(found, item) for rule in self.event_rules if (found := rule.observe(item))]
        if item.get("trade") is None or item["trade"]["trade_id"] in self.seen:
            return events
        trade = trade_of(item, self.reference_bps)
        self.seen[trade.trade_id] = {**item["trade"], "feed_sequence": item["sequence"]}
        while len(self.seen) > EVIDENCE_TRADES:
            self.seen.popitem(last=False)
        alerts = [self._rule_alert(hit, trade, item) for rule in self.rules if (hit := rule.check(trade, self.tape))]
        alerts += self._lapsed_alerts(trade, item) + events
        row = self.features.row(trade)
        self.tape.add(trade)
        if self.model is not None:
            score = self.model.score(trade.member, [row])[0]
            if score >= self.model.params.alert_score:
                alerts.append(self._model_alert(trade, row, score, item))
        return alerts

    def _evidence(self, trade_ids: tuple[str, ...], item: dict[str, Any]) -> dict[str, Any]:
        return {"trades": [self.seen[i] for i in trade_ids if i in self.seen], "feed_sequence": item["sequence"]}

    def _rule_alert(self, hit: Hit, trade: Trade, item: dict[str, Any]) -> Alert:
        return Alert(
            key=f"rule:{hit.rule}:{':'.join(hit.trade_ids)}"[:200],
            source="rule",
            detector=hit.rule,
            typology=hit.typology.value,
            severity=SEVERITY.get(hit.typology.value, "medium"),
            score=round(hit.score, 4),
            organization_id=trade.member,
            subject=trade.member,
            reason=hit.reason,
            top_features=[],
            evidence=self._evidence(hit.trade_ids, item),
            observed_at=item["at"],
        )

    def _event_alert(self, hit: EventHit, item: dict[str, Any]) -> Alert:
        return Alert(
            key=hit.key[:200],
            source="rule",
            detector=hit.rule,
            typology=hit.rule,
            severity=SEVERITY.get(hit.rule, "medium"),
            score=round(hit.score, 4),
            organization_id=hit.organization_id,
            subject=hit.organization_id,
            reason=hit.reason,
            top_features=[],
            evidence={"feed_sequences": list(hit.sequences), "feed_sequence": item["sequence"]},
            observed_at=item["at"],
        )

    def _lapsed_alerts(self, trade: Trade, item: dict[str, Any]) -> list[Alert]:
        """Activity after KYC lapsed: a trade agreed by a member whose KYC expired, was revoked or frozen (the
        custody door should have stopped it: a self-held wallet signing, or a gap between the check and the lapse).
        Typology: an account used after its owner lost standing (sanctions evasion, a sold or abandoned account)."""
        return [
            Alert(
                key=f"rule:kyc_lapsed:{org}:{trade.trade_id}",
                source="rule",
                detector="kyc_lapsed",
                typology="kyc_lapsed",
                severity=SEVERITY["kyc_lapsed"],
                score=1.0,
                organization_id=org,
                subject=org,
                reason=f"{org} agreed repo {trade.trade_id} after its KYC was {self.lapsed[org]}",
                top_features=[],
                evidence=self._evidence((trade.trade_id,), item),
                observed_at=item["at"],
            )
            for org in (trade.member, trade.counterparty)
            if org in self.lapsed
        ]

    def _model_alert(self, trade: Trade, row: list[float], score: float, item: dict[str, Any]) -> Alert:
        assert self.model is not None
        top = self.model.explain(trade.member, row)
        return Alert(
            key=f"model:v{self.model_version}:{trade.trade_id}",
            source="model",
            detector=f"isolation_forest v{self.model_version}",
            typology="anomaly",
            severity="medium" if score >= 2 * self.model.params.alert_score else "low",
            score=round(score, 4),
            organization_id=trade.member,
            subject=trade.member,
            reason=f"anomaly score {score:.2f} against the member's own history (alert at "
            f"{self.model.params.alert_score:.2f})",
            top_features=[asdict(c) for c in top],
            evidence=self._evidence((trade.trade_id,), item),
            observed_at=item["at"],
        )
