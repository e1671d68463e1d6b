"""What the risk service shows while it runs: Prometheus gauges per member (net exposure per counterparty, calls
due, the nearest cure deadline) and, when a member's picture changes, a snapshot posted to the gateway
(``POST /v1/risk/exposure``) that the gateway puts on the member's WebSocket stream. Best effort: a snapshot that
does not get through is sent again with the next change, and never holds up a call."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Gauge

from gateway.risk.exposure import PairExposure
from gateway.risk.store import Store

logger = logging.getLogger(__name__)

NET_EXPOSURE = Gauge(
    "reponet_risk_net_exposure_units", "net exposure per lender and counterparty, smallest cash units",
    ["member", "counterparty"],
)  # fmt: skip
CALLS_DUE = Gauge("reponet_risk_calls_outstanding", "repos margin-called and not yet cured, per lender", ["member"])
NEXT_DEADLINE = Gauge(
    "reponet_risk_next_cure_deadline_seconds", "the earliest cure deadline of the member's open calls", ["member"]
)


@dataclass
class Snapshots:
    """The last snapshot each member's stream got (by digest), so an unchanged picture is not posted again."""

    sent: dict[str, str]

    def __init__(self) -> None:
        self.sent = {}


def deadlines(store: Store, member: str) -> dict[int, int]:
    """Cure deadlines of the calls the service made for the member (one indexed read, not one per intent)."""
    rows = store.db.execute(
        "SELECT repo_id, MIN(cure_deadline) FROM intents WHERE member = ? AND status = 'sent' GROUP BY repo_id",
        (member,),
    ).fetchall()
    return {int(r): int(d) for r, d in rows}


def snapshot(
    pairs: Iterable[PairExposure], rows: dict[int, dict[str, Any]], cure: dict[int, int], per_repo: dict[int, int]
) -> dict[str, Any]:
    called = sorted(r for r, row in rows.items() if row["status"] == "margin_called")
    deadlines = {r: cure[r] for r in called if r in cure}
    return {
        "pairs": [
            {"counterparty_id": p.borrower, "net": str(p.net), "repos": len(p.repos)}
            for p in sorted(pairs, key=lambda p: p.borrower)
        ],
        "repos": [{"repo_id": r, "exposure": str(e)} for r, e in sorted(per_repo.items())],
        "calls_due": called,
        "cure_deadlines": [{"repo_id": r, "deadline": d} for r, d in sorted(deadlines.items())],
    }


def show(
    http: httpx.Client,
    api_key: str,
    member: str,
    body: dict[str, Any],
    seen: Snapshots,
) -> None:
    """Set the member's gauges and post the snapshot if it changed since the last one that got through."""
    for pair in body["pairs"]:
        NET_EXPOSURE.labels(member, pair["counterparty_id"]).set(int(pair["net"]))
    CALLS_DUE.labels(member).set(len(body["calls_due"]))
    deadlines = [d["deadline"] for d in body["cure_deadlines"]]
    NEXT_DEADLINE.labels(member).set(min(deadlines) if deadlines else 0)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if seen.sent.get(member) == digest:
        return
    try:
        answer = http.post("/v1/risk/exposure", json=body, headers={"X-API-Key": api_key})
    except httpx.HTTPError as exc:
        logger.info("risk: snapshot for %s not shown: %s", member, exc)
        return
    if answer.status_code == 204:
        seen.sent[member] = digest
    else:
        logger.info("risk: snapshot for %s: %s %s", member, answer.status_code, answer.text[:200])
