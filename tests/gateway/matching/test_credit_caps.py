"""A margin agreement caps the pair's GC credit limits: once both members have agreed a ``gc_credit_cap_units``, the
book counts at most that of each member's own limit (told again at once, and whenever a member sets its limit), and a
cap of 0 stops the pair trading. The agreement only tightens: a member's own lower limit stands."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from gateway.db.models import Role
from gateway.exceptions import InvalidRequest
from gateway.matching import outcomes
from gateway.matching.models import GcInstruction, GcOrder
from tests.gateway.conftest import Cast, World
from tests.gateway.market import call, list_instrument
from tests.gateway.matching.test_outcome_checks import _fill, _order, book

__all__ = ["book"]
CASH = "0x" + "11" * 20  # 2 decimals


def _limits_told(world: World) -> list[dict[str, Any] | None]:
    with world.ctx.sessions() as session:
        return [
            i.payload
            for i in session.scalars(
                select(GcInstruction).where(GcInstruction.action == "credit_limit").order_by(GcInstruction.sequence)
            )
        ]


def _agree(world: World, cast: Cast, cap: str) -> None:
    body = {"counterparty_id": str(world.orgs["b"]), "base_currency": CASH, "threshold": "0",
            "minimum_transfer": "0", "cure_period_seconds": 3600, "gc_credit_cap_units": cap}  # fmt: skip
    proposed = call(cast.a_approver, "/v1/risk/agreements", body)
    assert proposed.status_code == 201 and proposed.json()["gc_credit_cap_units"] == cap, proposed.text
    approved = call(cast.b_approver, f"/v1/risk/agreements/{proposed.json()['id']}/approve", {})
    assert approved.status_code == 200 and approved.json()["status"] == "effective", approved.text


def test_the_agreed_cap_bounds_what_the_book_counts_of_each_limit(world: World, cast: Cast) -> None:
    list_instrument(world, CASH, "cash", 2, "EURt")
    a, b = str(world.orgs["a"]), str(world.orgs["b"])
    admin = world.user("a", Role.MEMBER_ADMIN, "gccap")

    def put(units: int) -> dict[str, Any]:
        r = admin.client.put("/v1/gc/credit-limits", json={"counterparty_id": b, "limit_units": str(units)},
                             headers=admin.headers)  # fmt: skip
        assert r.status_code == 200, r.text
        return dict(r.json())

    assert (put(1_000)["book_units"], put(1_000)["agreed_cap_units"]) == ("1000", None)  # no agreement: its own
    _agree(world, cast, "500")  # agreed by both
    assert _limits_told(world)[-1] == {"member": a, "counterparty": b, "limit_units": "500"}  # told at once
    raised = put(2_000)
    assert (raised["limit_units"], raised["agreed_cap_units"], raised["book_units"]) == ("2000", "500", "500")
    assert _limits_told(world)[-1] == {"member": a, "counterparty": b, "limit_units": "500"}
    assert put(300)["book_units"] == "300"  # a member's own lower limit stands
    assert all(told is not None and told["member"] == a for told in _limits_told(world))  # B set none: none told


def test_a_pair_capped_at_zero_is_never_matched(book: World, cast: Cast) -> None:
    list_instrument(book, CASH, "cash", 2, "EURt")
    lend, borrow = _order(book, "b", "lend", 3), _order(book, "a", "borrow", 5)

    def check() -> None:  # a fill answering an instruction after everything told so far
        with book.ctx.sessions() as session:
            rows = session.get(GcOrder, lend), session.get(GcOrder, borrow)
            assert rows[0] is not None and rows[1] is not None
            outcomes._check_credit(session, _fill(lend, borrow, 4), rows[0], rows[1], 10**9)

    check()  # the limits the fixture set allow it
    _agree(book, cast, "0")  # both limits are told to the book again, as 0
    with pytest.raises(InvalidRequest, match="no credit limit"):
        check()
