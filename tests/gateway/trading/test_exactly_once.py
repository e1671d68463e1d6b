"""Exactly once through a crash: a keyed request's work, its answer and its audit entry commit together, so a
crash before that commit leaves nothing and the retry does the work once; a crash after it leaves the answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.api import idempotency
from gateway.db import audit_log
from gateway.db.models import AuditEntry, IdempotencyRecord, Organization, Role
from gateway.trading.models import Trade
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, approve_member, custodial_wallet, list_instrument, market_world, step_up


class Crash(Exception):
    """The process dies here (as under SIGKILL, nothing after this point is committed)."""


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def crash_before_commit(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> list[str]:
    """Fail the request's own audit append (made after the route's work and its idempotency record, before the
    one COMMIT) ``times`` times."""
    original = audit_log.append
    crashed: list[str] = []

    def append(session: Any, **kw: Any) -> Any:
        if str(kw.get("action", "")).startswith("http.") and len(crashed) < times:
            crashed.append(str(kw["action"]))
            raise Crash("killed between the work and its commit")
        return original(session, **kw)

    monkeypatch.setattr(audit_log, "append", append)
    return crashed


def count(world: World, what: Any, *where: Any) -> int:
    with world.ctx.sessions() as session:
        return int(session.execute(select(func.count()).select_from(what).where(*where)).scalar_one())


def direct_body(seller_wallet: str, buyer_address: str) -> dict[str, Any]:
    return {
        "role": "seller",
        "wallet_id": seller_wallet,
        "counterparty_wallet": buyer_address,
        "cash_token": CASH,
        "collateral_token": BOND,
        "purchase_price": "1000",
        "collateral_amount": "1100",
        "rate": "0.01",
        "haircut_bps": 200,
        "tenor_seconds": 3600,
    }


def agreed_trade(world: World) -> tuple[Any, Any, dict[str, Any]]:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    wa, wb = custodial_wallet(a), custodial_wallet(b)
    approve_member(world, "a")
    approve_member(world, "b")
    rfq = a.post(
        "/v1/rfqs",
        json={
            "seller_wallet_id": wa["id"],
            "cash_token": CASH,
            "collateral_token": BOND,
            "purchase_price": "1000",
            "collateral_amount": "1100",
            "tenor_seconds": 3600,
        },
    )
    assert rfq.status_code == 201, rfq.text
    quote = b.post(
        f"/v1/rfqs/{rfq.json()['id']}/quotes", json={"buyer_wallet_id": wb["id"], "rate": "0.01", "haircut_bps": 200}
    )
    assert quote.status_code == 201, quote.text
    trade = a.post(f"/v1/rfqs/{rfq.json()['id']}/accept", json={"quote_id": quote.json()["id"]})
    assert trade.status_code == 201, trade.text
    return a, b, trade.json()


def test_crash_between_the_work_and_its_record_leaves_nothing_and_the_retry_acts_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _, trade = agreed_trade(world)
    step_up(a)
    headers = {**a.headers, "Idempotency-Key": "sign-1"}
    crashed = crash_before_commit(monkeypatch)
    with pytest.raises(Crash):
        a.client.post(f"/v1/trades/{trade['id']}/sign", headers=headers)
    assert crashed == ["http.post"]
    # nothing of the first attempt survived: no signature, no audit of it, no record of the key
    with world.ctx.sessions() as session:
        row = session.get(Trade, uuid.UUID(trade["id"]))
        assert row is not None and row.seller_signature is None
    assert count(world, AuditEntry, AuditEntry.action == "trade.signed") == 0
    assert count(world, IdempotencyRecord, IdempotencyRecord.key == "sign-1") == 0

    first = a.client.post(f"/v1/trades/{trade['id']}/sign", headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["trade"]["seller"]["signed"]
    again = a.client.post(f"/v1/trades/{trade['id']}/sign", headers=headers)
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content  # the original answer, not "already signed" or "settling"
    assert count(world, AuditEntry, AuditEntry.action == "trade.signed") == 1


def test_a_created_trade_and_its_answer_commit_together(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    wa, wb = custodial_wallet(a), custodial_wallet(b)
    body = direct_body(wa["id"], wb["address"])
    headers = {**a.headers, "Idempotency-Key": "direct-1"}
    crash_before_commit(monkeypatch)
    before = count(world, Trade)
    with pytest.raises(Crash):
        a.client.post("/v1/trades", json=body, headers=headers)
    assert count(world, Trade) == before
    created = a.client.post("/v1/trades", json=body, headers=headers)
    assert created.status_code == 201, created.text
    replay = a.client.post("/v1/trades", json=body, headers=headers)
    assert replay.status_code == 201 and replay.json() == created.json()
    assert count(world, Trade) == before + 1
    with world.ctx.sessions() as session:
        record = session.execute(select(IdempotencyRecord).where(IdempotencyRecord.key == "direct-1")).scalar_one()
        assert record.status_code == 201 and record.body == created.content


def test_a_refusal_is_the_first_answer_too(world: World) -> None:
    a, _, trade = agreed_trade(world)
    step_up(a)
    with world.ctx.sessions() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None and org.onchain_identity_id is not None
        identity = org.onchain_identity_id
    world.chain.identities[identity].revoked = True  # the registry does not verify the wallet
    headers = {**a.headers, "Idempotency-Key": "sign-refused"}
    refused = a.client.post(f"/v1/trades/{trade['id']}/sign", headers=headers)
    assert refused.status_code == 403, refused.text
    world.chain.identities[identity].revoked = False
    again = a.client.post(f"/v1/trades/{trade['id']}/sign", headers=headers)  # the key still names that attempt
    assert again.status_code == 403 and again.content == refused.content
    assert again.headers.get("idempotent-replayed") == "true"
    fresh = a.client.post(f"/v1/trades/{trade['id']}/sign", headers={**a.headers, "Idempotency-Key": "sign-2"})
    assert fresh.status_code == 200, fresh.text


def test_a_duplicate_while_the_first_runs_gets_409_with_retry_after(world: World) -> None:
    a = world.user("a", Role.TRADER, "at")
    actor = f"user:{a.id}"
    # the first request holds the key (as while it runs); a duplicate arrives meanwhile
    with idempotency._in_flight_lock:
        idempotency._in_flight.add((actor, "busy-1"))
    try:
        busy = a.client.post("/v1/wallets", json={"label": "x"}, headers={**a.headers, "Idempotency-Key": "busy-1"})
    finally:
        with idempotency._in_flight_lock:
            idempotency._in_flight.discard((actor, "busy-1"))
    assert busy.status_code == 409
    assert busy.json()["type"].endswith("/idempotency-in-flight")
    assert int(busy.headers["retry-after"]) >= 1
    done = a.client.post("/v1/wallets", json={"label": "x"}, headers={**a.headers, "Idempotency-Key": "busy-1"})
    assert done.status_code == 201  # the 409 was not stored as the key's answer


def test_a_record_another_process_committed_first_wins(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two gateway processes got the same key past the in-process check: the second loses on the unique key, its
    work is undone and it answers with the first one's answer."""
    a = world.user("a", Role.TRADER, "at")
    actor = f"user:{a.id}"
    original = idempotency._hold

    def other_process_commits_first(request: Any) -> None:
        # after this request found no record, before its work: the other process commits the key's answer
        with world.ctx.sessions.begin() as other:
            other.add(
                IdempotencyRecord(
                    actor=actor,
                    key="twice",
                    fingerprint="other-process",
                    status_code=201,
                    media_type="application/json",
                    body=b'{"from": "the first process"}',
                )
            )
        original(request)

    monkeypatch.setattr(idempotency, "_hold", other_process_commits_first)
    before = count(world, AuditEntry, AuditEntry.action == "wallet.created")
    answer = a.client.post("/v1/wallets", json={"label": "x"}, headers={**a.headers, "Idempotency-Key": "twice"})
    assert answer.status_code == 201 and answer.json() == {"from": "the first process"}
    assert count(world, AuditEntry, AuditEntry.action == "wallet.created") == before  # its own work undone
