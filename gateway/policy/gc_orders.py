"""The member's policy over a GC order it signs: the rules see the order's size as notional, its tenor, each bond
the basket may deliver, and no counterparty (the book is anonymous until a match). Every bond must be allowed: a
rule that blocks any of them blocks the order. A rule that asks for approvals blocks it too: a GC order is signed
when it is entered, and the book does not wait for approvers."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.orm import Session

from gateway.policy.engine import Action, TradeFacts, evaluate
from gateway.policy.service import active_rules
from gateway.trading.exceptions import PolicyBlocked

ANONYMOUS = ""  # the counterparty of an order on an anonymous book


def order_facts(*, notional: Decimal, bonds: list[str], tenor_seconds: int) -> list[TradeFacts]:
    """One set of facts per bond the basket may deliver."""
    return [
        TradeFacts(
            notional=notional,
            counterparty=ANONYMOUS,
            collateral=bond,
            tenor_seconds=tenor_seconds,
            period_notional={},
        )
        for bond in bonds
    ]


def enforce(session: Session, organization_id: uuid.UUID, facts: list[TradeFacts]) -> None:
    """Raise ``PolicyBlocked`` unless the organization's rules allow the order for every bond of its basket."""
    rules = active_rules(session, organization_id)
    for fact in facts:
        decision = evaluate(rules, fact)
        if decision.action is Action.BLOCK:
            raise PolicyBlocked(f"rule {decision.rule!r} blocks this GC order", policy=decision.as_dict())
        if decision.action is Action.REQUIRE_APPROVALS:
            raise PolicyBlocked(
                f"rule {decision.rule!r} asks for {decision.approvals} approvals: a GC order cannot wait for them",
                policy=decision.as_dict(),
            )
