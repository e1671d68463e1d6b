"""A settlement is visible to every party to it: the open to both sides of the trade, an instruction's settlement
to every organization whose wallet signed it (not only the one whose signature queued it); to others, 404."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db import pages
from gateway.db.models import Role, Wallet
from gateway.settlement_records import parties
from gateway.settlement_records.models import Instruction, RepoRecord, Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading.models import Trade
from tests.gateway.conftest import Member, World
from tests.gateway.market import BOND, CASH, ENGINE, custodial_wallet, market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        w.org("c", name="Fund C")
        yield w


def listed(member: Member) -> list[str]:
    response = member.get("/v1/settlements")
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["data"]]


def wallets(world: World, a: Member, b: Member) -> tuple[Wallet, Wallet]:
    ids = custodial_wallet(a)["id"], custodial_wallet(b)["id"]
    with world.ctx.sessions() as session:
        rows = [session.get(Wallet, uuid.UUID(i)) for i in ids]
        for row in rows:
            assert row is not None
            session.expunge(row)
    return rows[0], rows[1]  # type: ignore[return-value]


def a_trade(session: Session, world: World, seller: Member, wa: Wallet, wb: Wallet) -> Trade:
    """A direct trade between A (seller) and B, flushed: its id is set."""
    trade = Trade(
        source="direct", seller_org_id=world.orgs["a"], buyer_org_id=world.orgs["b"], seller_wallet_id=wa.id,
        buyer_wallet_id=wb.id, seller_initiator=seller.id, terms={}, terms_digest="0x" + "00" * 32, chain_id=31337,
        engine=ENGINE,
    )  # fmt: skip
    session.add(trade)
    session.flush()
    return trade


def test_the_open_is_listed_and_readable_by_both_parties_only(world: World) -> None:
    a, b, c = (world.user(k, Role.TRADER, f"{k}t") for k in "abc")
    wa, wb = wallets(world, a, b)
    with world.ctx.sessions.begin() as session:
        trade = a_trade(session, world, a, wa, wb)
        opened = enqueue(
            session, kind="open", requested_by="relayer", trade_id=trade.id,
            steps=[StepSpec(label="open", to=ENGINE, data="0x", sender="0x" + "11" * 20)],
        )  # fmt: skip
        settlement_id = str(opened.id)
    assert settlement_id in listed(a) and settlement_id in listed(b)
    assert settlement_id not in listed(c)
    assert a.get(f"/v1/settlements/{settlement_id}").status_code == 200
    assert b.get(f"/v1/settlements/{settlement_id}").status_code == 200
    assert c.get(f"/v1/settlements/{settlement_id}").status_code == 404


def test_a_rerate_settlement_answers_every_signer(world: World) -> None:
    a, b, c = (world.user(k, Role.TRADER, f"{k}t") for k in "abc")
    wa, wb = wallets(world, a, b)
    with world.ctx.sessions.begin() as session:
        session.add(
            RepoRecord(
                repo_id=3, seller=wa.address, buyer=wb.address, holder=wb.address, seller_org_id=world.orgs["a"],
                holder_org_id=world.orgs["b"], cash_token=CASH, collateral_token=BOND, collateral_amount="120",
                purchase_price="100", rate="0", day_count_basis=360, haircut_bps=0, status="open", opened_at=0,
                maturity=0, period_start=0,
            )
        )  # fmt: skip
        # A signed first; B's signature queued the step, so B's organization requested the settlement.
        rerate = enqueue(
            session, kind="Amendment", requested_by="bt", organization_id=world.orgs["b"], repo_id=3,
            steps=[StepSpec(label="Amendment", to=ENGINE, data="0x", sender="0x" + "11" * 20)],
        )  # fmt: skip
        instruction = Instruction(
            repo_id=3, kind="Amendment", message={"repoId": "3"}, created_by="at", status="submitted",
            signatures={wa.address.lower(): "0x", wb.address.lower(): "0x"},
            required=[wa.address.lower(), wb.address.lower()],
        )  # fmt: skip
        session.add(instruction)
        parties.link_instruction(session, instruction, rerate)  # as the instruction's submission links it
        settlement_id = str(rerate.id)
    for party in (a, b):
        assert party.get(f"/v1/settlements/{settlement_id}").status_code == 200
        assert settlement_id in listed(party)
    assert c.get(f"/v1/settlements/{settlement_id}").status_code == 404
    assert settlement_id not in listed(c)


def test_settlements_recorded_before_their_parties_were_are_listed_to_the_same_parties_after_the_migration(
    world: World, db_url: str
) -> None:
    """The migration that made ``settlement_parties`` fills it by the rules the list applied on every read: an open
    to both sides of its trade, an instruction's settlement to every signer, a request to whoever asked."""
    from gateway.db.migrate import downgrade, upgrade

    a, b, c = (world.user(k, Role.TRADER, f"{k}t") for k in "abc")
    wa, wb = wallets(world, a, b)
    with world.ctx.sessions.begin() as session:  # written as before the table: no party rows
        trade = a_trade(session, world, a, wa, wb)
        opened = Settlement(kind="open", requested_by="relayer", trade_id=trade.id)
        rerate = Settlement(kind="Amendment", requested_by="bt", organization_id=world.orgs["b"], repo_id=3)
        asked = Settlement(kind="KycRegistration", requested_by="ct", organization_id=world.orgs["c"])
        session.add_all([opened, rerate, asked])
        session.flush()
        session.add(
            Instruction(
                repo_id=3, kind="Amendment", message={"repoId": "3"}, created_by="at", status="submitted",
                signatures={}, required=[wa.address.lower(), wb.address.lower()], settlement_id=rerate.id,
            )
        )  # fmt: skip
        ids = {"open": str(opened.id), "rerate": str(rerate.id), "asked": str(asked.id)}
    assert listed(a) == listed(b) == listed(c) == []  # the parties are not recorded yet
    downgrade(db_url, "s19_6601")
    upgrade(db_url)
    assert sorted(listed(a)) == sorted([ids["open"], ids["rerate"]])  # A: a side of the trade, a signer
    assert sorted(listed(b)) == sorted([ids["open"], ids["rerate"]])  # B: the other side, the one who asked
    assert listed(c) == [ids["asked"]]


def walk(member: Member, query: str) -> list[str]:
    """Every id of the list, a page of two at a time, following ``next_cursor`` to the end."""
    ids: list[str] = []
    cursor = None
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        response = member.get(f"/v1/settlements?limit=2{query}{suffix}")
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [s["id"] for s in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def test_the_list_walks_page_by_page_in_either_order_and_filters_by_status_and_kind(world: World) -> None:
    """The list's statements are built once per shape and run with each page's values: pages of two in both
    orders give every settlement once, the other party's view and the filters included."""
    a, b, c = (world.user(k, Role.TRADER, f"{k}t") for k in "abc")
    wa, wb = wallets(world, a, b)
    made: list[tuple[str, str, str]] = []  # (id, kind, status), oldest first
    for n in range(5):
        with world.ctx.sessions.begin() as session:
            trade = a_trade(session, world, a, wa, wb)
            kind = "open" if n % 2 == 0 else "repurchase"
            settlement = enqueue(
                session, kind=kind, requested_by="relayer", trade_id=trade.id,
                steps=[StepSpec(label=kind, to=ENGINE, data="0x", sender="0x" + "11" * 20)],
            )  # fmt: skip
            if n == 3:
                settlement.status = "failed"
            made.append((str(settlement.id), kind, settlement.status))
    newest_first = [i for i, _, _ in reversed(made)]
    assert walk(a, "") == newest_first == walk(b, "")
    assert walk(a, "&order=oldest") == newest_first[::-1]
    assert walk(a, "&status=failed") == [made[3][0]]
    assert walk(a, "&kind=repurchase") == [i for i, k, _ in reversed(made) if k == "repurchase"]
    assert walk(a, "&kind=open&status=pending&order=oldest") == [i for i, k, s in made if k == "open"]
    assert walk(c, "") == []
    assert a.get("/v1/settlements?cursor=not-a-cursor").status_code == 400  # the client's mistake, as before


def test_a_cursor_with_a_time_without_its_offset_is_the_clients_mistake(world: World) -> None:
    """A hand-made cursor whose time has no UTC offset is refused (400), not a failure of the server."""
    a = world.user("a", Role.TRADER, "at")
    naive = pages.encode_cursor(["2026-01-01T00:00:00", str(uuid.uuid4())])
    aware = pages.encode_cursor(["2026-01-01T00:00:00+00:00", str(uuid.uuid4())])
    assert a.get(f"/v1/settlements?cursor={naive}").status_code == 400
    answer = a.get(f"/v1/settlements?cursor={aware}")
    assert answer.status_code == 200 and answer.json()["data"] == []
