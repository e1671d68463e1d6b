"""Cure tracking in the risk service (``reponet risk``): after a margin call, follow its cure deadline, remind the
parties before it, and when it passes uncured ask the gateway to mark the repo for default and prepare (or, under
the holder's standing instruction, run) the close-out; offer a seller its excess collateral back the same way.

The service only asks; the gateway decides by the member's standing instruction and sends through its outbox and
custody door. Each request is an intent stored before it is sent, keyed by member, kind, repo and episode (the
call's cure deadline; the repo's last event block for an excess): the key is the POST's Idempotency-Key, so a
restart re-sends a pending intent and the gateway answers it from its record, and the gateway keeps one proposal
per episode besides. An intent whose call is no longer outstanding (cured, or the repo closed) is dropped unsent:
a cure stops escalation."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
from prometheus_client import Counter

from gateway.risk.exceptions import GatewayUnavailable
from gateway.risk.exposure import Method, RepoValue, repo_exposure
from gateway.risk.store import Store

logger = logging.getLogger(__name__)

CURE_SENT = Counter("reponet_risk_cure_requests_total", "cure-tracking requests the gateway accepted", ["kind"])

SCHEMA = """
CREATE TABLE IF NOT EXISTS cure_intents (
    key TEXT PRIMARY KEY, member TEXT NOT NULL, kind TEXT NOT NULL, repo_id INTEGER NOT NULL,
    episode INTEGER NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, sent_at REAL, answer TEXT
);
"""


class Kind(StrEnum):
    REMIND = "remind"
    DEFAULT = "default"
    EXCESS = "excess"


PATHS = {Kind.REMIND: "/v1/risk/reminders", Kind.DEFAULT: "/v1/risk/defaults", Kind.EXCESS: "/v1/risk/excess-returns"}


@dataclass(frozen=True)
class CureIntent:
    key: str
    member: str
    kind: Kind
    repo_id: int
    episode: int  # the call's cure deadline, or the repo's last event block (excess)
    status: str  # pending | sent | refused | moot

    def body(self) -> dict[str, int]:
        if self.kind is Kind.EXCESS:
            return {"repo_id": self.repo_id, "updated_block": self.episode}
        return {"repo_id": self.repo_id, "cure_deadline": self.episode}


def cure_key(member: str, kind: Kind, repo_id: int, episode: int) -> str:
    return hashlib.sha256(f"risk-{kind.value}:{member}:{repo_id}:{episode}".encode()).hexdigest()[:48]


class CureStore:
    """The cure intents, in the service's state file beside its call intents (one connection, one thread)."""

    def __init__(self, store: Store) -> None:
        self.db = store.db
        self.db.executescript(SCHEMA)

    def intend(self, member: str, kind: Kind, repo_id: int, episode: int) -> CureIntent:
        key = cure_key(member, kind, repo_id, episode)
        self.db.execute(
            "INSERT OR IGNORE INTO cure_intents VALUES (?, ?, ?, ?, ?, 'pending', ?, NULL, NULL)",
            (key, member, kind.value, repo_id, episode, time.time()),
        )
        found = self.get(key)
        assert found is not None
        return found

    def get(self, key: str) -> CureIntent | None:
        row = self.db.execute(
            "SELECT key, member, kind, repo_id, episode, status FROM cure_intents WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else CureIntent(row[0], row[1], Kind(row[2]), int(row[3]), int(row[4]), row[5])

    def pending(self, member: str) -> list[CureIntent]:
        rows = self.db.execute(
            "SELECT key FROM cure_intents WHERE member = ? AND status = 'pending' ORDER BY created_at", (member,)
        ).fetchall()
        return [i for (key,) in rows if (i := self.get(key)) is not None]

    def mark(self, key: str, status: str, answer: str) -> None:
        self.db.execute(
            "UPDATE cure_intents SET status = ?, sent_at = ?, answer = ? WHERE key = ?",
            (status, time.time(), answer, key),
        )

    def intents(self) -> list[CureIntent]:
        rows = self.db.execute("SELECT key FROM cure_intents ORDER BY created_at").fetchall()
        return [i for (key,) in rows if (i := self.get(key)) is not None]


class CureTracker:
    """One member's cure tracking per tick, through the gateway's REST API with the member's API key."""

    def __init__(self, http: httpx.Client, store: Store, fence: Callable[[str], dict[str, str]] = lambda _: {}) -> None:
        self.http = http
        self.store = CureStore(store)
        self.fence = fence  # the member's risk-lease token (X-Lease-Token): a deposed leader's requests are refused

    def _watch(self, api_key: str) -> dict[str, Any]:
        try:
            answer = self.http.get("/v1/risk/watch", headers={"X-API-Key": api_key})
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(str(exc)) from exc
        if answer.status_code != 200:
            raise GatewayUnavailable(f"GET /v1/risk/watch: {answer.status_code} {answer.text[:200]}")
        body: dict[str, Any] = answer.json()
        return body

    def tick(self, member: str, api_key: str) -> list[CureIntent]:
        """Decide from the watch list, then send every pending intent still due; answer those the gateway took."""
        watch = self._watch(api_key)
        now, before = int(watch["now"]), int(watch["remind_before_seconds"])
        due: set[tuple[Kind, int, int]] = set()
        for call in watch["calls"]:
            repo_id, deadline = int(call["repo_id"]), int(call["cure_deadline"])
            if deadline == 0:
                continue
            due.add((Kind.REMIND, repo_id, deadline))
            due.add((Kind.DEFAULT, repo_id, deadline))
            if now >= deadline - before:
                self.store.intend(member, Kind.REMIND, repo_id, deadline)
            if now > deadline:
                self.store.intend(member, Kind.DEFAULT, repo_id, deadline)
        for sold in watch["sold"]:
            if sold["price"] is None:
                continue
            value = RepoValue(
                repo_id=int(sold["repo_id"]),
                lender="",
                borrower=member,
                repurchase_price=int(sold["repurchase_price"]),
                collateral_amount=int(sold["collateral_amount"]),
                price=int(sold["price"]),
                haircut_bps=int(sold["haircut_bps"]),
                cash_margin=int(sold["cash_margin"]),
            )
            if -repo_exposure(value, Method.B) > int(sold["min_transfer_amount"]):  # the engine's own test
                episode = int(sold["updated_block"])
                due.add((Kind.EXCESS, value.repo_id, episode))
                self.store.intend(member, Kind.EXCESS, value.repo_id, episode)
        made: list[CureIntent] = []
        for intent in self.store.pending(member):
            if (intent.kind, intent.repo_id, intent.episode) not in due:
                self.store.mark(intent.key, "moot", "no longer due (cured, closed or changed)")
                logger.info("risk: %s on repo %s no longer due", intent.kind.value, intent.repo_id)
                continue
            if self._send(api_key, intent):
                made.append(intent)
        return made

    def _send(self, api_key: str, intent: CureIntent) -> bool:
        headers = {"X-API-Key": api_key, "Idempotency-Key": intent.key, **self.fence(intent.member)}
        try:
            answer = self.http.post(PATHS[intent.kind], json=intent.body(), headers=headers)
        except httpx.HTTPError as exc:
            logger.warning("risk: %s on repo %s not sent yet: %s", intent.kind.value, intent.repo_id, exc)
            return False
        if answer.status_code in (200, 201, 202):
            self.store.mark(intent.key, "sent", answer.text[:2000])
            CURE_SENT.labels(intent.kind.value).inc()
            logger.info("risk: %s on repo %s for %s accepted", intent.kind.value, intent.repo_id, intent.member)
            return True
        if answer.status_code in (400, 403, 404, 422):
            self.store.mark(intent.key, "refused", answer.text[:2000])
            logger.warning("risk: %s on repo %s refused: %s", intent.kind.value, intent.repo_id, answer.text[:200])
            return False
        # 409 (not yet: the chain's clock, a step the engine would still refuse), 429, 5xx: again next tick
        logger.info("risk: %s on repo %s: %s, retried next tick", intent.kind.value, intent.repo_id, answer.status_code)
        return False
