"""The activity rules on feed items: rapid open-and-close, repeated failed sign-ins or refused signatures, and
sanctions hits on re-screening are alerted through the scorer; each is quiet below its settings, and the settings
come from the service config's ``rules`` like the trade rules'."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.surveillance.exceptions import SurveillanceError
from gateway.surveillance.rules.events import RapidOpenClose, RepeatedFailures, SanctionsRescreen
from gateway.surveillance.scorer import Scorer, configured_event_rules


def entry(sequence: int, minute: int, action: str, object_type: str, object_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "at": f"2026-12-04T{10 + minute // 60:02d}:{minute % 60:02d}:00+00:00",
        "actor": "user:x",
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "trade": None,
        **extra,
    }


def repo(sequence: int, minute: int, action: str, repo_id: int, seller: str = "A") -> dict[str, Any]:
    link = {"repo_id": repo_id, "trade_id": f"t{repo_id}", "seller_org": seller, "buyer_org": "B"}
    return entry(sequence, minute, action, "repo", str(repo_id), repo=link)


def churn(scorer: Scorer, repos: int, held_minutes: int, close: str = "repo.repurchase") -> list[Any]:
    alerts, seq = [], 0
    for n in range(repos):
        start = n * 100
        seq += 1
        alerts += scorer.handle(repo(seq, start, "repo.opened", n + 1))
        seq += 1
        alerts += scorer.handle(repo(seq, start + held_minutes, close, n + 1))
    return alerts


def test_repos_opened_and_closed_quickly_again_and_again_are_alerted_on_the_seller() -> None:
    alerts = churn(Scorer(rules=[]), repos=3, held_minutes=20, close="repo.early_repurchase")
    assert [a.detector for a in alerts] == ["rapid_open_close"]
    alert = alerts[0]
    assert alert.organization_id == "A" and alert.severity == "medium"
    assert "3 repos of A" in alert.reason and alert.evidence["feed_sequences"] == [2, 4, 6]


def test_rapid_open_and_close_is_quiet_for_repos_held_longer_or_too_few() -> None:
    assert churn(Scorer(rules=[]), repos=5, held_minutes=90) == []  # held longer than the hour
    assert churn(Scorer(rules=[]), repos=2, held_minutes=5) == []  # twice only
    scorer = Scorer(rules=[], event_rules=configured_event_rules({"rapid_open_close": {"window_seconds": 7200}}))
    assert [a.detector for a in churn(scorer, repos=3, held_minutes=90, close="repo.terminate")] == ["rapid_open_close"]


def test_a_repurchase_final_on_chain_is_a_close_counted_once() -> None:
    """A self-held seller's repurchase reaches the feed only as final on chain (``repo.repurchased``); a custodial
    one is there twice, asked and final: either way one close."""
    assert [a.detector for a in churn(Scorer(rules=[]), 3, 10, close="repo.repurchased")] == ["rapid_open_close"]
    scorer, alerts = Scorer(rules=[]), []
    for n in range(3):
        alerts += scorer.handle(repo(3 * n + 1, n * 100, "repo.opened", n + 1))
        alerts += scorer.handle(repo(3 * n + 2, n * 100 + 5, "repo.repurchase", n + 1))
        alerts += scorer.handle(repo(3 * n + 3, n * 100 + 6, "repo.repurchased", n + 1))
    assert [a.detector for a in alerts] == ["rapid_open_close"] and "3 repos of A" in alerts[0].reason


def test_a_termination_notice_final_on_chain_is_a_close() -> None:
    """A self-held party's termination reaches the feed only as indexed (``repo.termination_noticed``)."""
    alerts = churn(Scorer(rules=[]), 3, 10, close="repo.termination_noticed")
    assert [a.detector for a in alerts] == ["rapid_open_close"]


def failure(sequence: int, minute: int, action: str = "auth.login_failed") -> dict[str, Any]:
    kind = "user" if action == "auth.login_failed" else "wallet"
    return entry(sequence, minute, action, kind, "u1", organization_id="A")


def test_repeated_failures_within_the_window_are_alerted_once_per_run() -> None:
    scorer = Scorer(rules=[])
    alerts = [a for n in range(6) for a in scorer.handle(failure(n + 1, n))]
    assert [a.detector for a in alerts] == ["repeated_failures"]
    assert alerts[0].organization_id == "A" and "5 failed attempts" in alerts[0].reason
    spread = Scorer(rules=[])  # one failure every 20 minutes: never 5 within 15 minutes
    assert [a for n in range(10) for a in spread.handle(failure(n + 1, 20 * n))] == []


def test_refused_signatures_count_and_anonymous_failures_do_not() -> None:
    scorer = Scorer(rules=[], event_rules=configured_event_rules({"repeated_failures": {"min_count": 3}}))
    refused = [a for n in range(3) for a in scorer.handle(failure(n + 1, n, "custody.refused"))]
    assert [a.detector for a in refused] == ["repeated_failures"]
    anonymous = Scorer(rules=[])
    items = [{**failure(n + 1, n), "organization_id": None} for n in range(8)]
    assert [a for i in items for a in anonymous.handle(i)] == []


def test_a_sanctions_hit_on_rescreening_is_alerted_high_with_the_list_entry() -> None:
    scorer = Scorer(rules=[])
    assert scorer.handle(entry(1, 0, "sanctions.list_changed", "sanctions_list", "ab" * 32)) == []
    detail = {"entry_id": "SDN-7", "listed_name": "Ivan Badactor", "screened_name": "Иван Бадактор", "score": 93.0}
    hit = entry(2, 0, "sanctions.hit", "screening_hit", "h1", organization_id="A", detail=detail)
    alerts = scorer.handle(hit)
    assert [(a.detector, a.severity, a.organization_id) for a in alerts] == [("sanctions_rescreen", "high", "A")]
    assert "SDN-7" in alerts[0].reason and "abababab" in alerts[0].key
    strict = Scorer(rules=[], event_rules=configured_event_rules({"sanctions_rescreen": {"min_score": 95}}))
    assert strict.handle(hit) == []


def test_activity_rule_settings_are_checked_like_the_trade_rules() -> None:
    rules = {r.name: r for r in configured_event_rules({"repeated_failures": {"window_seconds": 60}})}
    assert isinstance(rules["repeated_failures"], RepeatedFailures) and rules["repeated_failures"].window_seconds == 60
    assert isinstance(rules["rapid_open_close"], RapidOpenClose)
    assert isinstance(rules["sanctions_rescreen"], SanctionsRescreen)
    with pytest.raises(SurveillanceError):
        configured_event_rules({"repeated_failures": {"recent": 1}})  # state, not a setting
    with pytest.raises(SurveillanceError):
        configured_event_rules({"failed_logins": {}})
