"""/v1/gc for the matching service (scope ``matching:run``, a key of the operator's organization): the instructions
in order, and its answer to each. Fills are checked against the signed orders, recorded, and settled through the
outbox (``gateway.matching.outcomes``, ``gateway.matching.settle``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep, read_view
from gateway.api.errors import problem_responses
from gateway.api.permits import MatchingRun
from gateway.db.models import Organization
from gateway.exceptions import PermissionDenied
from gateway.matching import instructions, outcomes, settle
from gateway.matching.runner import InstructionWire
from gateway.matching.schemas import GcInstructionPublic, GcInstructionsPublic, OutcomeIn, OutcomeRecorded
from gateway.settlement.hub import HubDep, OptionalHubDep
from gateway.settlement_records.bell import rung

router = APIRouter(prefix="/gc", tags=["gc"], responses=problem_responses(401, 403, 404, 422, 429))
WAIT_MAX_SECONDS = 25.0
WAIT_POLL_SECONDS = 0.25  # an instruction queued by a process no ring reaches (a replica elsewhere) is seen this soon
RUNG_WAIT_POLL_SECONDS = 1.0  # where every writer rings it (gateway.workers.one_machine): for a lost ring only


def _operator(session: Session, principal: Principal) -> None:
    org = session.get(Organization, principal.organization_id)
    if org is None or not org.is_operator:
        raise PermissionDenied("the matching service is the operator's: a member's credentials are refused")


@router.get("/instructions", response_model=GcInstructionsPublic, status_code=200)
async def list_instructions(
    principal: MatchingRun,
    read: ReadSessionDep,
    ctx: ContextDep,
    hub: OptionalHubDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 500,
    wait: Annotated[float, Query(ge=0, le=WAIT_MAX_SECONDS)] = 0,
) -> GcInstructionsPublic:
    """The book's instructions after sequence ``after``, in order; ``next_cursor`` is the last one's sequence. With
    ``wait``, an empty answer waits up to that many seconds for the next instruction (a long poll: the service sees
    an order as it commits). It waits holding no session, no thread and no read slot (``gateway.api.admission``):
    woken when any process on this machine queues an instruction, reading again every ``WAIT_POLL_SECONDS`` (a
    second where they ring it) for those no ring reaches."""
    await read_view(ctx, _operator, read, principal)
    await read_view(ctx, read.close)
    poll = RUNG_WAIT_POLL_SECONDS if hub is not None and hub.extra.get(instructions.RUNG_HERE) else WAIT_POLL_SECONDS
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        with instructions.QUEUED.listening() as queued:  # before the read: a commit after it still wakes this
            data = await read_view(ctx, _after, ctx.read_sessions, after, limit)
            if data or loop.time() >= deadline:
                break
            await rung(queued, min(poll, deadline - loop.time()))
    return GcInstructionsPublic(
        data=[GcInstructionPublic.model_validate(dict(item)) for item in data],
        next_cursor=str(data[-1]["sequence"]) if len(data) == limit else None,
    )


def _after(sessions: Callable[[], Session], after: int, limit: int) -> list[InstructionWire]:
    with sessions() as session:
        return instructions.after(session, after, limit)


@router.post("/outcomes", response_model=OutcomeRecorded, status_code=200)
def post_outcome(
    body: OutcomeIn, principal: MatchingRun, read: ReadSessionDep, session: SessionDep, hub: HubDep
) -> OutcomeRecorded:
    """Record the answer to one instruction and queue each fill's settlement; a repeat changes nothing."""
    _operator(read, principal)
    prepared = outcomes.prepare(read, body)
    if prepared.answered:
        return OutcomeRecorded(sequence=body.sequence, recorded=False, fills=0)
    market = hub.require_market()
    plans = {
        fill.sequence: settle.plan(market, read, parties, int(fill.amount_units), at_match=True)
        for fill, parties in prepared.fills
    }
    read.rollback()
    recorded = outcomes.record(session, body, plans, market)
    session.commit()
    if recorded and body.fills:
        hub.notify()  # the relayer sends the fills' settlements now
    return OutcomeRecorded(sequence=body.sequence, recorded=recorded, fills=len(body.fills) if recorded else 0)
