"""The risk service's loop (``reponet risk``): a client of the gateway's REST API, one API key per member that
granted it ``repos:read`` and ``risk:act``. Each tick it reads the member's effective agreements and the repos it
holds, values them, keeps the history, and calls margin where the agreement's threshold + minimum transfer is
passed and the member's standing instruction allows it — or, when the member chose approval, proposes the call to
its approvers (``POST /v1/risk/margin-call-proposals``).

Exactly once: the intent (keyed by member, repo and the repo's last event block) is stored before the POST, and
the POST carries that key as its Idempotency-Key, so a restart re-sends the same call and the gateway answers it
from its idempotency record instead of queueing a second one. Nothing here imports the gateway's app, database or
custody: the service holds no key and reaches the chain only through the gateway."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter, Gauge, Histogram

from gateway.risk.cure import CureTracker
from gateway.risk.eligibility import Eligible, agreed_value, from_wire
from gateway.risk.exceptions import CallRefused, GatewayUnavailable
from gateway.risk.exposure import (
    Method,
    PairExposure,
    RepoValue,
    Terms,
    call_amount,
    net_by_pair,
    repos_to_call,
)
from gateway.risk.fx import SAME, Conversion, Route, exposure, to_base
from gateway.risk.live import Snapshots, deadlines, show, snapshot
from gateway.risk.store import Intent, Store
from gateway.risk.valuation import latest_point

logger = logging.getLogger(__name__)

PRICE_TO_CALL = Histogram(
    "reponet_risk_price_to_call_seconds",
    "time from the service first seeing a new collateral price to the margin call it caused being accepted",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CALLS_SENT = Counter("reponet_risk_calls_sent_total", "margin calls the gateway accepted from the risk service")
CALLS_OUTSTANDING = Gauge("reponet_risk_calls_pending", "call intents written but not yet accepted by the gateway")
SENDERS = 6  # concurrent margin-call POSTs of one tick, every member's calls interleaved (a few per client at once)
REVALUE_SECONDS = Histogram("reponet_risk_revalue_seconds", "one member's revaluation (read, value, decide)")


@dataclass(frozen=True)
class MemberKey:
    name: str
    api_key: str


@dataclass(frozen=True)
class Due:
    """A stored call intent waiting for its POST, with when the price that caused it was first seen."""

    key: MemberKey
    intent: Intent
    seen_at: float | None


@dataclass(frozen=True)
class Valued:
    """One member's tick before its calls are sent: the calls due and what its live view shows afterwards."""

    key: MemberKey
    due: list[Due]
    pairs: list[PairExposure]
    rows: dict[int, dict[str, Any]]
    per_repo: dict[int, int]  # each held repo's exposure in its cash token, as the engine tests it
    holds_repos: bool = True  # none: nothing to show


@dataclass(frozen=True)
class Agreement:
    id: str
    lender_side: bool  # the member's standing instruction lets the service call for it
    counterparty: str
    terms: Terms
    cure_period_seconds: int
    base_currency: str  # lower case: the pair nets in this cash token, other currencies converted at the FX rate
    eligible: tuple[Eligible, ...] = ()  # the eligible collateral schedule (gateway.risk.eligibility)
    valuation_times: tuple[str, ...] = ()  # "HH:MM" UTC (gateway.risk.valuation); none: continuously


def intent_key(member: str, repo_id: int, updated_block: int) -> str:
    """One call episode of one repo: a new key only after a new event on the repo (a cure, a post)."""
    return hashlib.sha256(f"risk-call:{member}:{repo_id}:{updated_block}".encode()).hexdigest()[:48]


class Watcher:
    def __init__(
        self,
        http: httpx.Client,
        store: Store,
        members: list[MemberKey],
        reload: Callable[[], list[MemberKey]] | None = None,
        cure: CureTracker | None = None,
        fence: Callable[[str], dict[str, str]] = lambda _: {},
    ) -> None:
        self.reload = reload
        self.fence = fence  # a member's risk-lease token (X-Lease-Token), by member name
        self.cure = cure  # cure deadlines, reminders, defaults and excess (gateway.risk.cure)
        self.http = http
        self.store = store
        self.members = members
        self._seen_price: dict[tuple[str, str], int] = {}
        self._price_seen_at: dict[tuple[str, str], float] = {}
        self._shown = Snapshots()
        self._terms: dict[str, Terms] = {}  # by agreement id: a version's terms never change (a change is a new id)
        self._proposed: set[tuple[int, int]] = set()  # (repo, updated block) proposed for an approver
        self._valued: dict[str, int] = {}  # agreement id → the valuation point last acted on (valuation times)

    def _get(self, key: MemberKey, path: str) -> Any:
        try:
            answer = self.http.get(path, headers={"X-API-Key": key.api_key})
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(str(exc)) from exc
        if answer.status_code != 200:
            raise GatewayUnavailable(f"GET {path}: {answer.status_code} {answer.text[:200]}")
        return answer.json()

    def _agreements(self, key: MemberKey, me: str | None) -> dict[str, Agreement]:
        """The member's effective agreements by counterparty id."""
        out: dict[str, Agreement] = {}
        for a in self._get(key, "/v1/risk/agreements?status=effective")["data"]:
            for mine, other, auto in (("member_a", "member_b", "auto_call_a"), ("member_b", "member_a", "auto_call_b")):
                if me is None or a[mine] == me:
                    out.setdefault(
                        a[other],
                        Agreement(
                            id=a["id"],
                            lender_side=bool(a[auto]),
                            counterparty=a[other],
                            terms=Terms(0, 0, 0, Method(a["method"])),
                            cure_period_seconds=int(a["cure_period_seconds"]),
                            base_currency=str(a["base_currency"]).lower(),
                            eligible=from_wire(a.get("eligible") or []),
                            valuation_times=tuple(a.get("valuation_times") or ()),
                        ),
                    )
        return out

    def _terms_units(self, key: MemberKey, agreement_id: str) -> Terms:
        """The agreement's amounts in smallest units (the API shows decimals; the service needs integers)."""
        a = self._get(key, f"/v1/risk/agreements/{agreement_id}")
        threshold: str = a["threshold"]
        decimals = len(threshold.partition(".")[2])  # the API writes every place of the base currency

        def units(value: str) -> int:
            whole, _, frac = value.partition(".")
            scale: int = 10**decimals
            return int(whole) * scale + (int(frac) if frac else 0)

        return Terms(
            threshold=units(a["threshold"]),
            minimum_transfer=units(a["minimum_transfer"]),
            rounding=units(a["rounding"]),
            method=Method(a["method"]),
        )

    def tick(self) -> list[Intent]:
        """Re-send what a previous run left pending; revalue every member (its calls stored as intents); send every
        member's calls side by side (one after another, member by member, a price move that called 100 repos over
        20 members waited on 40 rounds of POSTs); then each member's live view and cure steps. Answers the calls
        made."""
        made: list[Intent] = []
        if self.reload is not None:
            try:
                self.members = self.reload()
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("risk: configuration not re-read, keeping the last one: %s", exc)
        for intent in self.store.pending():
            key = next((m for m in self.members if m.name == intent.member), None)
            if key is not None:
                made.extend(self._send(key, intent, seen_at=None))
        valued: list[Valued] = []
        for key in self.members:
            try:
                with REVALUE_SECONDS.time():
                    valued.append(self._member(key))
            except GatewayUnavailable as exc:
                logger.warning("risk: member %s skipped this tick: %s", key.name, exc)
        made.extend(self._send_all([d for v in valued for d in v.due]))
        for v in valued:
            try:
                if v.holds_repos:
                    show(
                        self.http,
                        v.key.api_key,
                        v.key.name,
                        snapshot(v.pairs, v.rows, deadlines(self.store, v.key.name), v.per_repo),
                        self._shown,
                    )
                if self.cure is not None:
                    self.cure.tick(v.key.name, v.key.api_key)
            except GatewayUnavailable as exc:
                logger.warning("risk: member %s: live view or cure steps skipped this tick: %s", v.key.name, exc)
        CALLS_OUTSTANDING.set(len(self.store.pending()))
        return made

    def _member(self, key: MemberKey) -> Valued:
        """Reads and values the member's repos, stores the calls due as intents (before any is sent) and
        proposes those its approvers must confirm."""
        page = self._get(key, "/v1/risk/repos")
        repos = page["data"]
        if not repos:
            return Valued(key, [], [], {}, {}, holds_repos=False)
        rates = {  # a cash token into an agreement's base currency; a stale rate leaves the repo out of the net
            (x["quote"].lower(), x["base"].lower()): Conversion(int(x["rate"]), int(x["haircut_bps"]))
            for x in page.get("fx") or []
            if x["rate"] is not None
        }
        me = repos[0]["lender"]
        agreements = self._agreements(key, me)
        values: list[tuple[RepoValue, int]] = []
        agreed: list[tuple[RepoValue, int]] = []  # the same repos as the agreement values them (its schedule)
        rows: dict[int, dict[str, Any]] = {}
        for r in repos:
            token_pair = (r["collateral_token"], r["cash_token"])
            if r["price"] is None:
                continue
            price = int(r["price"])
            if self._seen_price.get(token_pair) != price:
                self._seen_price[token_pair] = price
                self._price_seen_at[token_pair] = time.monotonic()
            route = None
            if r.get("price_currency"):  # collateral quoted in another currency than the repo's cash
                if r.get("fx_rate") is None:
                    continue  # the FX rate is stale: the engine would not value it either
                route = Route(int(r["fx_rate"]), int(r["fx_haircut_bps"]))
            agreement = agreements.get(r["borrower"])
            conversion = SAME
            if agreement is not None and r["cash_token"].lower() != agreement.base_currency:
                found = rates.get((r["cash_token"].lower(), agreement.base_currency))
                if found is None:
                    continue  # no fresh rate into the base currency: not netted this tick
                conversion = found
            method = agreement.terms.method if agreement else Method.B
            value = RepoValue(
                repo_id=int(r["repo_id"]),
                lender=r["lender"],
                borrower=r["borrower"],
                repurchase_price=int(r["repurchase_price"]),
                collateral_amount=int(r["collateral_amount"]),
                price=price,
                haircut_bps=int(r["haircut_bps"]),
                cash_margin=int(r["cash_margin"]),
            )
            values.append((value, exposure(value, route, method)))  # in the repo's currency, as the engine
            rows[value.repo_id] = r
            if agreement is not None and agreement.eligible:  # the pair nets at the schedule's haircuts
                valued = agreed_value(
                    agreement.eligible, value, isin=r.get("collateral_isin"), currency=r.get("collateral_currency")
                )  # not eligible: no collateral value, the repo's own haircut (method A stays finite)
                agreed.append((valued, to_base(exposure(valued, route, method), conversion)))
            else:
                agreed.append((value, to_base(values[-1][1], conversion)))
        per_repo = {v.repo_id: e for v, e in values}  # the engine's test of each repo: its own haircut
        pairs = net_by_pair(agreed)
        self.store.record(key.name, {p.borrower: (p.net, len(p.repos)) for p in pairs.values()}, per_repo)
        due: list[Due] = []  # every intent is stored before any of them is sent
        now = int(repos[0]["valued_at"])
        for pair in pairs.values():
            agreement = agreements.get(pair.borrower)
            if agreement is None:
                continue
            point = latest_point(agreement.valuation_times, now)
            if point is not None:  # valued for calls only once per valuation point (a restart acts on the latest)
                if self._valued.get(agreement.id) == point:
                    continue
                self._valued[agreement.id] = point
            terms = self._terms.get(agreement.id)
            if terms is None:
                terms = self._terms[agreement.id] = self._terms_units(key, agreement.id)
            amount = call_amount(pair.net, terms)
            mta = {rid: int(rows[rid]["min_transfer_amount"]) for rid in pair.repos}
            callable_repos = [r for r in pair.repos if rows[r]["status"] == "open"]
            open_pair = PairExposure(pair.lender, pair.borrower, pair.net, tuple(callable_repos))
            for repo_id in repos_to_call(open_pair, per_repo, mta, terms):
                row = rows[repo_id]
                if not agreement.lender_side:  # the member chose approval: a proposal an approver confirms
                    self._propose(key, agreement.id, repo_id, int(row["updated_block"]), amount)
                    continue
                intent = self.store.intend(
                    Intent(
                        key=intent_key(key.name, repo_id, int(row["updated_block"])),
                        member=key.name,
                        repo_id=repo_id,
                        agreement_id=agreement.id,
                        call_amount=amount,
                        cure_deadline=int(row["valued_at"]) + agreement.cure_period_seconds,
                        status="pending",
                    )
                )
                if intent.status == "pending":
                    seen = self._price_seen_at.get((row["collateral_token"], row["cash_token"]))
                    due.append(Due(key, intent, seen))
        return Valued(key, due, list(pairs.values()), rows, per_repo)

    def _propose(self, key: MemberKey, agreement_id: str, repo_id: int, updated_block: int, amount: int) -> None:
        """Once per repo state: the gateway keeps one proposal per repo and state, so a restart that asks again
        gets the same proposal back (no state file needed); a refusal is not asked again either."""
        if (repo_id, updated_block) in self._proposed:
            return
        body = {"repo_id": repo_id, "agreement_id": agreement_id, "call_amount": str(amount)}
        try:
            answer = self.http.post("/v1/risk/margin-call-proposals", json=body, headers={"X-API-Key": key.api_key})
        except httpx.HTTPError as exc:
            logger.warning("risk: call proposal on repo %s not sent yet: %s", repo_id, exc)
            return
        if answer.status_code == 202 or answer.status_code in (400, 403, 404, 409, 422):
            self._proposed.add((repo_id, updated_block))
        if answer.status_code != 202:
            logger.warning("risk: call proposal on repo %s: %s %s", repo_id, answer.status_code, answer.text[:200])

    def _send_all(self, due: list[Due]) -> list[Intent]:
        """The POSTs of one tick's calls side by side (a price move calls many repos at once; one after another
        they took ~40 ms each), members interleaved so that no client has many in flight; each answer recorded in
        this thread (the store is single-threaded)."""
        if len(due) <= 1:
            return [i for d in due for i in self._send(d.key, d.intent, d.seen_at)]
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            answers = list(pool.map(lambda d: self._post(d.key, d.intent), interleaved(due)))
        return [
            i
            for d, answer in zip(interleaved(due), answers, strict=True)
            for i in self._record(d.intent, answer, d.seen_at)
        ]

    def _send(self, key: MemberKey, intent: Intent, seen_at: float | None) -> list[Intent]:
        return self._record(intent, self._post(key, intent), seen_at)

    def _post(self, key: MemberKey, intent: Intent) -> httpx.Response | None:
        body = {"repo_id": intent.repo_id, "agreement_id": intent.agreement_id, "call_amount": str(intent.call_amount)}
        try:
            return self.http.post(
                "/v1/risk/margin-calls",
                json=body,
                headers={"X-API-Key": key.api_key, "Idempotency-Key": intent.key, **self.fence(key.name)},
            )
        except httpx.HTTPError as exc:
            logger.warning("risk: call on repo %s not sent yet: %s", intent.repo_id, exc)
            return None

    def _record(self, intent: Intent, answer: httpx.Response | None, seen_at: float | None) -> list[Intent]:
        if answer is None:
            return []
        if answer.status_code == 202:
            self.store.mark(intent.key, "sent", answer.text[:2000])
            CALLS_SENT.inc()
            if seen_at is not None:
                PRICE_TO_CALL.observe(time.monotonic() - seen_at)
            logger.info("risk: margin call on repo %s for %s sent", intent.repo_id, intent.member)
            return [intent]
        if answer.status_code == 409 and "stale-lease" in answer.text:  # fenced: the new leader sends it
            logger.warning("risk: call on repo %s refused: this instance no longer leads", intent.repo_id)
            return []
        if answer.status_code in (400, 403, 404, 409, 422):
            self.store.mark(intent.key, "refused", answer.text[:2000])
            logger.warning("%s", CallRefused(intent.repo_id, answer.status_code, answer.text[:200]))
            return []
        logger.warning("risk: call on repo %s: %s, retried next tick", intent.repo_id, answer.status_code)
        return []

    def run(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the loop survives a bad tick; the store keeps what was intended
                logger.exception("risk: tick failed")
            stop.wait(interval)


def interleaved(due: list[Due]) -> list[Due]:
    """Round robin over members: each member's first call, then each one's second, ... (in a stable order)."""
    by_member: dict[str, list[Due]] = {}
    for d in due:
        by_member.setdefault(d.key.name, []).append(d)
    queues = list(by_member.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]
