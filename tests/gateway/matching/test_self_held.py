"""A self-held wallet's GC order on both databases: the ``unsigned`` status fits its column, and exactly one of a
signature, a cancel and the session's end takes an unsigned order (each moves it only if it is still unsigned), so
two signatures posted together queue it once and a cancelled order never reaches the book. Only a signature in the
form the engine takes is accepted; a refused repeat of a live order never rejects it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from gateway.db.models import Role
from gateway.exceptions import Conflict
from gateway.matching import entry, instructions, outcomes, self_held, session_end
from gateway.matching.models import GcInstruction, GcOrder
from gateway.matching.schemas import OutcomeIn
from gateway.policy import gc_orders as gc_policy
from gateway.policy.engine import Rule
from gateway.trading.exceptions import InvalidSignature, PolicyBlocked
from gateway.trading.models import PolicyVersion
from tests.gateway.conftest import World, make_world

DEADLINE = 2_000_000_000
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def world(tmp_path: Path, any_db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, any_db_url)


def _unsigned(world: World, status: str = entry.UNSIGNED) -> uuid.UUID:
    with world.ctx.sessions.begin() as session:
        row = GcOrder(
            id=uuid.uuid4(), organization_id=world.orgs["a"], client_order_id=uuid.uuid4().hex, basket_id="GC-A",
            tenor="1W", forward_start_days=0, side="borrow", tif="limit", rate="4", size_units="1000",
            min_fill_units="1", filled_units="0", status=status, priority=0, deadline=DEADLINE, expires_at=DEADLINE,
        )  # fmt: skip
        session.add(row)
        return row.id


def _submits(world: World, order_id: uuid.UUID) -> int:
    with world.ctx.sessions() as session:
        return len(session.scalars(select(GcInstruction).where(GcInstruction.order_id == order_id)).all())


def _accept(world: World, order_id: uuid.UUID) -> None:
    with world.ctx.sessions() as session:
        row = session.get(GcOrder, order_id)
        assert row is not None
        self_held.accept_signature(session, actor="test", row=row, signature="0x01", how="eoa", now=1, facts=[])
        session.commit()


def test_two_signatures_posted_together_queue_the_order_once(world: World) -> None:
    order_id = _unsigned(world)
    _accept(world, order_id)
    with world.ctx.sessions() as late:  # the other request read the order before the first one committed
        stale = late.get(GcOrder, order_id)
        assert stale is not None and stale.status == entry.PENDING
        set_committed_value(stale, "status", entry.UNSIGNED)
        with pytest.raises(Conflict, match="takes no signature"):
            self_held.accept_signature(late, actor="t", row=stale, signature="0x02", how="eoa", now=1, facts=[])
        late.rollback()
    assert _submits(world, order_id) == 1
    with world.ctx.sessions() as session:
        row = session.get(GcOrder, order_id)
        assert row is not None and row.signature == "0x01"


def test_a_cancelled_or_expired_order_takes_no_signature(world: World) -> None:
    cancelled, expired = _unsigned(world), _unsigned(world)
    with world.ctx.sessions() as session:
        entry.cancel_order(session, actor="t", organization_id=world.orgs["a"], order_id=cancelled,
                           market=cast(Any, None))  # fmt: skip  # an unsigned order needs no chain
        session_end.expire_overdue(session, DEADLINE + 1)
        session.commit()
    for order_id, status in ((cancelled, "cancelled"), (expired, "expired")):
        with pytest.raises(Conflict):
            _accept(world, order_id)
        with world.ctx.sessions() as session:
            row = session.get(GcOrder, order_id)
            assert row is not None and row.status == status
        assert _submits(world, order_id) == 0  # the book never heard of it


def test_a_refused_repeat_never_rejects_a_live_order(world: World) -> None:
    order_id = _unsigned(world, status="resting")
    with world.ctx.sessions.begin() as session:
        sequence = instructions.add(session, action="submit", order_id=order_id).sequence
    with world.ctx.sessions() as session:
        outcomes.record(session, OutcomeIn(sequence=sequence, refused="duplicate order"), {}, cast(Any, None))
        session.commit()
        row = session.get(GcOrder, order_id)
        assert row is not None and row.status == "resting"


def _signature(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def test_only_the_form_the_engine_takes_is_canonical() -> None:
    key = Account.create()
    signed = key.sign_message(encode_typed_data(full_message=_doc()))
    assert self_held.canonical(bytes(signed.signature))
    flipped_v = 28 if signed.v == 27 else 27
    assert not self_held.canonical(_signature(signed.r, SECP256K1_N - signed.s, flipped_v))  # the high-s twin
    assert not self_held.canonical(_signature(signed.r, signed.s, signed.v - 27))  # v as 0 or 1
    assert not self_held.canonical(bytes(signed.signature)[:64])
    # eth_account would recover the signer from both twins: the gateway must not take what the engine refuses
    high_s = _signature(signed.r, SECP256K1_N - signed.s, flipped_v)
    assert Account.recover_message(encode_typed_data(full_message=_doc()), signature=high_s) == key.address


class _Market:
    chain_id, engine_address = 31337, "0x" + "e1" * 20

    def has_code(self, address: str) -> bool:
        return False


def test_a_non_canonical_or_malformed_signature_is_refused(world: World) -> None:
    key = Account.create()
    order_id = _unsigned(world)
    with world.ctx.sessions.begin() as session:
        row = session.get(GcOrder, order_id)
        assert row is not None
        row.maker = key.address
        row.signed = {"maker": key.address, "matcher": "0x" + "ab" * 20, "side": "1", "cashToken": "0x" + "11" * 20,
                      "basket": "0x" + "33" * 32, "start": "0", "maturity": "1", "rate": "4", "size": "1000",
                      "minFill": "1", "nonce": "7", "deadline": str(DEADLINE)}  # fmt: skip
    with world.ctx.sessions() as session:
        row = session.get(GcOrder, order_id)
        assert row is not None
        market = cast(Any, _Market())
        doc = self_held.document(row, chain_id=market.chain_id, engine=market.engine_address)
        signed = key.sign_message(encode_typed_data(full_message=doc.typed_data))
        assert self_held.check_signature(market, row, "0x" + bytes(signed.signature).hex()) == "eoa"
        flipped_v = 28 if signed.v == 27 else 27
        for bad in ("0x" + _signature(signed.r, SECP256K1_N - signed.s, flipped_v).hex(), "0x123"):
            with pytest.raises(InvalidSignature):
                self_held.check_signature(market, row, bad)


def _doc() -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}], "T": [{"name": "x", "type": "uint256"}]},
        "primaryType": "T",
        "domain": {"name": "t"},
        "message": {"x": 1},
    }


def test_a_rule_adopted_before_the_signature_arrives_blocks_the_order(world: World) -> None:
    order_id = _unsigned(world)
    author = world.user("a", Role.MEMBER_ADMIN, "policy-author")
    rule = Rule.model_validate({"name": "no large GC", "when": {"notional_over": "1000"}, "action": "block"})
    with world.ctx.sessions.begin() as session:
        session.add(PolicyVersion(id=uuid.uuid4(), organization_id=world.orgs["a"], version=1,
                                  rules=[rule.model_dump(mode="json")], status="active", is_active=True,
                                  created_by=author.user.id))  # fmt: skip
    facts = gc_policy.order_facts(notional=Decimal(10_000), bonds=["0x" + "22" * 20], tenor_seconds=7 * 86_400)
    with world.ctx.sessions() as session:
        row = session.get(GcOrder, order_id)
        assert row is not None
        with pytest.raises(PolicyBlocked, match="no large GC"):
            self_held.accept_signature(session, actor="t", row=row, signature="0x01", how="eoa", now=1, facts=facts)
        session.rollback()
    with world.ctx.sessions() as session:
        row = session.get(GcOrder, order_id)
        assert row is not None and row.status == entry.UNSIGNED and row.signature is None
    assert _submits(world, order_id) == 0
