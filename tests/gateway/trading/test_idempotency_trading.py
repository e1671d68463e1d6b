"""Idempotency-Key on trading POSTs: the same key and body replay the first answer; another body is 422; a
duplicate sent while the first is still running gets 409 and never runs twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.db.models import Role
from gateway.trading import rfq as rfqs
from gateway.trading.models import Rfq
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, custodial_wallet, list_instrument, market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def body(wallet_id: str, pp: str = "1000") -> dict[str, Any]:
    return {
        "seller_wallet_id": wallet_id,
        "cash_token": CASH,
        "collateral_token": BOND,
        "purchase_price": pp,
        "collateral_amount": "1100",
        "tenor_seconds": 3600,
    }


def count_rfqs(world: World) -> int:
    with world.ctx.sessions() as session:
        return int(session.execute(select(func.count()).select_from(Rfq)).scalar_one())


def test_same_key_replays_and_other_body_is_refused(world: World) -> None:
    a = world.user("a", Role.TRADER, "at")
    wallet = custodial_wallet(a)
    headers = {**a.headers, "Idempotency-Key": "rfq-1"}
    first = world.client.post("/v1/rfqs", json=body(wallet["id"]), headers=headers)
    again = world.client.post("/v1/rfqs", json=body(wallet["id"]), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    other = world.client.post("/v1/rfqs", json=body(wallet["id"], pp="2000"), headers=headers)
    assert other.status_code == 422
    assert count_rfqs(world) == 1


def test_concurrent_duplicates_run_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a = world.user("a", Role.TRADER, "at")
    wallet = custodial_wallet(a)
    original = rfqs.create_rfq
    entered = threading.Event()

    def slow_create(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        time.sleep(0.5)
        return original(*args, **kwargs)

    monkeypatch.setattr(rfqs, "create_rfq", slow_create)
    headers = {**a.headers, "Idempotency-Key": "rfq-concurrent"}
    answers: list[Any] = []

    def send() -> None:
        answers.append(world.client.post("/v1/rfqs", json=body(wallet["id"]), headers=headers))

    first = threading.Thread(target=send)
    first.start()
    assert entered.wait(5)
    send()  # while the first is inside the route
    first.join()
    # SQLite serializes the two requests (its write lock): the duplicate then replays; elsewhere it gets 409
    duplicate = next(r for r in answers if r is not answers[0] or r.status_code == 409)
    assert count_rfqs(world) == 1
    assert duplicate.status_code == 409 or duplicate.headers.get("idempotent-replayed") == "true"
    replay = world.client.post("/v1/rfqs", json=body(wallet["id"]), headers=headers)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"


def test_a_key_in_flight_is_refused_until_released(world: World) -> None:
    from starlette.requests import Request

    from gateway.api import idempotency

    def request() -> Request:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/rfqs",
            "headers": [(b"idempotency-key", b"k1")],
            "state": {"body_sha256": "x"},
            "query_string": b"",
        }
        return Request(scope)

    first, second = request(), request()
    with world.ctx.sessions() as session:
        idempotency.replay_if_seen(session, first, "user:1")
        with pytest.raises(idempotency.IdempotencyInFlight):
            idempotency.replay_if_seen(session, second, "user:1")
        third = request()
        idempotency.replay_if_seen(session, third, "user:2")  # keys are per caller
        idempotency.release(third)
        idempotency.release(first)
        idempotency.replay_if_seen(session, second, "user:1")
        idempotency.release(second)
