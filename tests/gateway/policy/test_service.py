"""The policy service (gateway/policy/service.py) on a database: one side of a trade under its member's rules —
limits, the approver quorum (the signer's own approval never counts), rule changes by four eyes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.db.models import Role
from gateway.exceptions import FourEyesViolation
from gateway.policy import service
from gateway.policy.engine import Action, Decision, Rule
from gateway.trading.exceptions import ApprovalRequired, PolicyBlocked
from gateway.trading.models import Trade
from tests.gateway.units import Desk, make_desk


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[Desk]:
    yield from make_desk(tmp_path, db_url)


def _pair(desk: Desk) -> tuple[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, uuid.UUID]]:
    a, b = desk.member("A"), desk.member("B")
    return (a, desk.custodial_wallet(a)), (b, desk.custodial_wallet(b))


def _enforce(desk: Desk, trade_id: uuid.UUID, side: str, signer: uuid.UUID | None = None) -> Decision:
    with desk.ctx.sessions() as session:
        trade = session.get(Trade, trade_id)
        assert trade is not None
        return service.enforce(session, trade, side, signer=signer)


def test_without_a_policy_a_side_may_sign(desk: Desk) -> None:
    seller, buyer = _pair(desk)
    trade = desk.trade(seller=seller, buyer=buyer)
    assert _enforce(desk, trade, "seller").action is Action.ALLOW


def test_a_limit_blocks_only_its_own_members_side(desk: Desk) -> None:
    seller, buyer = _pair(desk)
    desk.policy(seller[0], [{"name": "cap", "when": {"notional_over": "500000"}, "action": "block"}])
    trade = desk.trade(seller=seller, buyer=buyer, purchase_price=600_000)
    with pytest.raises(PolicyBlocked, match="cap"):
        _enforce(desk, trade, "seller")
    assert _enforce(desk, trade, "buyer").action is Action.ALLOW
    assert _enforce(desk, desk.trade(seller=seller, buyer=buyer, purchase_price=500_000), "seller").rule is None


def test_a_period_limit_adds_the_members_other_trades(desk: Desk) -> None:
    seller, buyer = _pair(desk)
    desk.policy(
        seller[0],
        [{"name": "daily", "when": {"period_notional_over": {"amount": "1500000", "days": 1}}, "action": "block"}],
    )
    first = desk.trade(seller=seller, buyer=buyer, purchase_price=1_000_000)
    assert _enforce(desk, first, "seller").action is Action.ALLOW
    second = desk.trade(seller=seller, buyer=buyer, purchase_price=1_000_000)
    with pytest.raises(PolicyBlocked, match="daily"):
        _enforce(desk, second, "seller")


def test_the_quorum_counts_approvals_of_the_members_people_other_than_the_signer(desk: Desk) -> None:
    seller, buyer = _pair(desk)
    desk.policy(seller[0], [{"name": "two", "action": "require_approvals", "approvals": 2}])
    trade = desk.trade(seller=seller, buyer=buyer)
    signer, other = desk.person(seller[0], Role.APPROVER), desk.person(seller[0], Role.APPROVER)
    outsider = desk.person(buyer[0], Role.APPROVER)
    desk.approve(trade, seller[0], signer)
    desk.approve(trade, buyer[0], outsider)  # the counterparty's approval is not this member's
    with pytest.raises(ApprovalRequired) as refused:
        _enforce(desk, trade, "seller", signer=signer)
    assert "needs 2 approvals; 0 given" in str(refused.value)
    desk.approve(trade, seller[0], other)
    with pytest.raises(ApprovalRequired, match="1 given"):  # the signer's own approval does not count
        _enforce(desk, trade, "seller", signer=signer)
    third = desk.person(seller[0], Role.APPROVER)
    desk.approve(trade, seller[0], third)
    decision = _enforce(desk, trade, "seller", signer=signer)
    assert (decision.action, decision.approvals) == (Action.REQUIRE_APPROVALS, 2)


def test_the_initiator_cannot_approve_their_own_trade(desk: Desk) -> None:
    seller, buyer = _pair(desk)
    initiator = desk.person(seller[0])
    trade_id = desk.trade(seller=seller, buyer=buyer, initiator=initiator)
    with desk.ctx.sessions() as session:
        trade = session.get(Trade, trade_id)
        assert trade is not None
        with pytest.raises(FourEyesViolation):
            service.approve_trade(
                session, actor="test", user_id=initiator, organization_id=seller[0], trade=trade, side="seller"
            )


def test_require_counts_approvals_only_when_a_quorum_is_asked() -> None:
    def never() -> int:
        raise AssertionError("counted approvals for a decision that needs none")

    assert service.require(Decision(Action.ALLOW, 0, None, None), "trade", never).action is Action.ALLOW
    with pytest.raises(PolicyBlocked):
        service.require(Decision(Action.BLOCK, 0, "stop", 0), "trade", never)
    counted: Callable[[], int] = lambda: 3  # noqa: E731
    assert service.require(Decision(Action.REQUIRE_APPROVALS, 3, "q", 0), "trade", counted).approvals == 3


def test_a_rule_change_needs_a_second_approver(desk: Desk) -> None:
    org = desk.member("A")
    author, other = desk.person(org, Role.APPROVER), desk.person(org, Role.APPROVER)
    rules = [Rule.model_validate({"name": "cap", "when": {"notional_over": "1"}, "action": "block"})]
    with desk.ctx.sessions() as session:
        draft = service.create_draft(session, actor="test", user_id=author, organization_id=org, rules=rules)
        with pytest.raises(FourEyesViolation):
            service.decide_draft(session, actor="test", user_id=author, draft=draft, approve=True)
        assert service.active(session, org) is None
        service.decide_draft(session, actor="test", user_id=other, draft=draft, approve=True)
        assert [r.name for r in service.active_rules(session, org)] == ["cap"]
