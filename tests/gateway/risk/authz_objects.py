"""Organization A's margin agreement for the cross-organization authorization matrix (with the operator's
organization as the other side, so that B is a stranger to it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gateway.risk.models import MarginAgreement
from tests.gateway.conftest import Cast, World


def agreement(world: World, cast: Cast, objects: dict[str, str]) -> str:
    with world.ctx.sessions.begin() as session:
        row = MarginAgreement(
            id=uuid.uuid4(),
            member_a=world.orgs["a"],
            member_b=world.orgs["op"],
            version=1,
            status="proposed",
            base_currency="0x" + "11" * 20,
            threshold_units="0",
            minimum_transfer_units="0",
            rounding_units="0",
            method="B",
            cure_period_seconds=0,
            auto_call_a=False,
            auto_call_b=False,
            proposed_by=world.orgs["op"],
            proposed_at=datetime.now(UTC),
        )
        session.add(row)
        return str(row.id)


def instruction(world: World, cast: Cast, objects: dict[str, str]) -> str:
    """A draft standing instruction of organization A."""
    from gateway.risk.cure_models import RiskInstruction

    with world.ctx.sessions.begin() as session:
        row = RiskInstruction(
            id=uuid.uuid4(),
            organization_id=world.orgs["a"],
            version=1,
            status="draft",
            close_out="auto",
            excess_return="auto",
            remind_before_seconds=60,
            created_by=cast.a_admin.id,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        return str(row.id)


def proposal(world: World, cast: Cast, objects: dict[str, str]) -> str:
    """A close-out proposal of organization A."""
    from gateway.risk.cure_models import RiskProposal

    with world.ctx.sessions.begin() as session:
        row = RiskProposal(
            id=uuid.uuid4(),
            organization_id=world.orgs["a"],
            repo_id=1,
            kind="close_out",
            episode=1,
            status="proposed",
            mode="propose",
            valuation={"owed": "1"},
            created_at=datetime.now(UTC),
        )
        session.add(row)
        return str(row.id)


OBJECTS = {"agreement_id": agreement, "instruction_id": instruction, "proposal_id": proposal}
BODIES = {
    ("post", "/v1/risk/agreements/{agreement_id}/approve"): {"auto_call": False},
    ("post", "/v1/risk/instructions/{instruction_id}/decision"): {"approve": True},
    ("post", "/v1/risk/exposure"): {"pairs": [], "calls_due": [], "cure_deadlines": []},
    ("post", "/v1/risk/stress"): {
        "scenarios": [{"name": "all -10%", "shocks": [{"kind": "instrument", "target": "*", "bps": -1000}]}]
    },
}
