"""Cure tracking in the gateway: the member's standing instruction (draft, four-eyes approval), notices, and the
close-out and excess-return proposals with their valuation and steps. Keyword-only functions over one session;
every chain read is the caller's, made in its read session before the write transaction opens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.exceptions import FourEyesViolation, NotFound
from gateway.risk import messages
from gateway.risk.cure_models import Mode, ProposalKind, ProposalStatus, RiskInstruction, RiskNotice, RiskProposal
from gateway.risk.cure_schemas import InstructionCreate
from gateway.settlement.market import Market
from gateway.settlement_records.steps import StepSpec
from gateway.trading.exceptions import InvalidState

PRICE_SCALE = 10**18
BPS = 10_000
DEFAULT_REMIND_BEFORE = 3_600


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------------ standing instruction
def draft(
    session: Session, *, organization_id: uuid.UUID, user_id: uuid.UUID, actor: str, data: InstructionCreate
) -> RiskInstruction:
    last = session.scalar(
        select(func.max(RiskInstruction.version)).where(RiskInstruction.organization_id == organization_id)
    )
    row = RiskInstruction(
        id=uuid.uuid4(),
        organization_id=organization_id,
        version=(last or 0) + 1,
        status="draft",
        close_out=data.close_out.value,
        excess_return=data.excess_return.value,
        remind_before_seconds=data.remind_before_seconds,
        created_by=user_id,
        created_at=_now(),
    )
    session.add(row)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="risk.instruction.drafted",
        object_type="risk_instruction",
        object_id=str(row.id),
        change={"version": row.version, **data.model_dump(mode="json")},
    )
    return row


def decide(
    session: Session,
    *,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    actor: str,
    instruction_id: uuid.UUID,
    approve: bool,
) -> RiskInstruction:
    """A second person approves (the draft applies, the active version is superseded) or rejects a draft."""
    row = session.get(RiskInstruction, instruction_id)
    if row is None or row.organization_id != organization_id:
        raise NotFound("standing instruction not found")
    if row.status != "draft":
        raise InvalidState(f"the standing instruction is {row.status}")
    if row.created_by == user_id:
        raise FourEyesViolation("a standing instruction is approved by another person")
    row.decided_by, row.decided_at = user_id, _now()
    if approve:
        current = active(session, organization_id)
        if current is not None:
            current.status = "superseded"
        row.status = "active"
    else:
        row.status = "rejected"
    audit_log.append(
        session,
        actor=actor,
        action="risk.instruction.approved" if approve else "risk.instruction.rejected",
        object_type="risk_instruction",
        object_id=str(row.id),
        change={"version": row.version, "close_out": row.close_out, "excess_return": row.excess_return},
    )
    return row


def active(session: Session, organization_id: uuid.UUID) -> RiskInstruction | None:
    return session.scalars(
        select(RiskInstruction).where(
            RiskInstruction.organization_id == organization_id, RiskInstruction.status == "active"
        )
    ).first()


def mode_of(row: RiskInstruction | None, kind: ProposalKind) -> Mode:
    """What the member told the service to do for ``kind``; no instruction: propose, never act."""
    if row is None:
        return Mode.PROPOSE
    return Mode(row.close_out if kind is ProposalKind.CLOSE_OUT else row.excess_return)


def remind_before(row: RiskInstruction | None) -> int:
    return DEFAULT_REMIND_BEFORE if row is None else row.remind_before_seconds


# ------------------------------------------------------------------------------------------------------ notices
def notice(
    session: Session, *, organization_id: uuid.UUID, repo_id: int, kind: str, key: str, detail: dict[str, str]
) -> RiskNotice:
    """The notice with ``key`` for the organization, written once (a repeat answers the first)."""
    found = session.scalars(
        select(RiskNotice).where(RiskNotice.organization_id == organization_id, RiskNotice.key == key)
    ).first()
    if found is not None:
        return found
    row = RiskNotice(
        organization_id=organization_id, repo_id=repo_id, kind=kind, key=key, detail=detail, created_at=_now()
    )
    session.add(row)
    session.flush()
    messages.record(  # live: the member's stream and webhooks (``risk.cure_reminder``, ``risk.call_lapsed``, ...)
        session,
        organization_id=organization_id,
        kind=f"risk.{kind}",
        body={"repo_id": repo_id, "notice_id": row.id, "detail": dict(detail)},
    )
    return row


# ---------------------------------------------------------------------------------------------------- valuation
@dataclass(frozen=True)
class CloseOutValue:
    """What a close-out now would do, at the oracle price: the holder takes collateral worth what is owed after
    the cash margin; a shortfall is its unsecured claim, any excess goes back to the seller."""

    owed: int
    cash_margin: int
    collateral_amount: int
    collateral_value: int  # market value of all collateral (no haircut), rounded down
    collateral_to_holder: int
    shortfall: int
    excess: int

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


def close_out_value(*, owed: int, cash_margin: int, collateral_amount: int, price: int) -> CloseOutValue:
    value = collateral_amount * price // PRICE_SCALE
    rest = max(0, owed - cash_margin)
    if price <= 0:
        to_holder = collateral_amount
    else:
        to_holder = min(collateral_amount, -((-rest * PRICE_SCALE) // price))
    return CloseOutValue(
        owed=owed,
        cash_margin=cash_margin,
        collateral_amount=collateral_amount,
        collateral_value=value,
        collateral_to_holder=to_holder,
        shortfall=max(0, owed - cash_margin - value),
        excess=max(0, cash_margin + value - owed),
    )


def excess_collateral(*, exposure: int, owed: int, price: int, haircut_bps: int) -> int:
    """Collateral the seller may take back now: the excess (−exposure) less a cushion of one basis point of what is
    owed (the price differential keeps accruing until the step lands), in collateral units at the haircut-adjusted
    price, rounded down; 0 when there is none."""
    room = -exposure - max(1, owed // BPS)
    if room <= 0 or price <= 0 or haircut_bps >= BPS:
        return 0
    return room * PRICE_SCALE * BPS // (price * (BPS - haircut_bps))


# -------------------------------------------------------------------------------------------------------- steps
def close_out_steps(market: Market, *, repo_id: int, holder: str, holder_wallet_id: uuid.UUID) -> list[StepSpec]:
    """declareDefault (anyone may: the relayer's account) then closeOut from the holder's custodial wallet; the
    outbox sends the second only once the first is final."""
    return [
        StepSpec(
            label="default",
            to=market.engine_address,
            data=market.encode(market.engine, "declareDefault", repo_id),
            sender=market.relayer.address,
        ),
        StepSpec(
            label="close_out",
            to=market.engine_address,
            data=market.encode(market.engine, "closeOut", repo_id),
            sender=holder,
            sender_wallet_id=holder_wallet_id,
        ),
    ]


def excess_steps(
    market: Market, *, repo_id: int, seller: str, seller_wallet_id: uuid.UUID, collateral_amount: int
) -> list[StepSpec]:
    return [
        StepSpec(
            label="withdraw_excess",
            to=market.engine_address,
            data=market.encode(market.engine, "withdrawExcess", repo_id, collateral_amount, 0),
            sender=seller,
            sender_wallet_id=seller_wallet_id,
        )
    ]


# ---------------------------------------------------------------------------------------------------- proposals
def existing(session: Session, *, repo_id: int, kind: ProposalKind, episode: int) -> RiskProposal | None:
    return session.scalars(
        select(RiskProposal).where(
            RiskProposal.repo_id == repo_id, RiskProposal.kind == kind.value, RiskProposal.episode == episode
        )
    ).first()


def propose(
    session: Session,
    *,
    organization_id: uuid.UUID,
    repo_id: int,
    kind: ProposalKind,
    episode: int,
    mode: Mode,
    valuation: dict[str, str],
    instruction: RiskInstruction | None,
    actor: str,
) -> RiskProposal:
    """One proposal per repo, kind and episode: a second request for the same episode gets the first (the unique
    key stops a race between two processes)."""
    found = existing(session, repo_id=repo_id, kind=kind, episode=episode)
    if found is not None:
        return found
    row = RiskProposal(
        id=uuid.uuid4(),
        organization_id=organization_id,
        repo_id=repo_id,
        kind=kind.value,
        episode=episode,
        status=ProposalStatus.PROPOSED.value,
        mode=mode.value,
        valuation=valuation,
        instruction_id=None if instruction is None else instruction.id,
        created_at=_now(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise InvalidState(f"a {kind.value} proposal for repo {repo_id} is being made") from None
    audit_log.append(
        session,
        actor=actor,
        action=f"risk.{kind.value}.proposed",
        object_type="repo",
        object_id=str(repo_id),
        change={"proposal": str(row.id), "mode": mode.value, "episode": episode, **valuation},
    )
    return row


def visible_proposal(session: Session, proposal_id: uuid.UUID, organization_id: uuid.UUID) -> RiskProposal:
    row = session.get(RiskProposal, proposal_id)
    if row is None or row.organization_id != organization_id:
        raise NotFound("proposal not found")
    return row
