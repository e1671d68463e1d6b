"""/v1/settlements: a settlement and its chain steps, a long poll until it is final, the organization's list."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query
from sqlalchemy import Select, bindparam, select
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import ContextDep, PageQuery, SessionDep, read_view
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.db import pages
from gateway.db.pages import Order
from gateway.settlement import service, visibility
from gateway.settlement.hub import HubDep, ended_bell, indexed_bell
from gateway.settlement.schemas import (
    SettlementPublic,
    SettlementsPublic,
    kind_spellings,
)
from gateway.settlement.views import LISTED, settlement_public, settlements_public
from gateway.settlement_records import freshness
from gateway.settlement_records.bell import rung
from gateway.settlement_records.freshness import BELL_POLL_SECONDS
from gateway.settlement_records.models import Settlement, SettlementParty

router = APIRouter(tags=["settlement"], responses=problem_responses(401, 403, 404, 409, 413, 422, 429))


@router.get("/settlements/{settlement_id}", response_model=SettlementPublic, status_code=200)
def get_settlement(settlement_id: uuid.UUID, principal: ReposRead, session: SessionDep) -> SettlementPublic:
    """A settlement and each chain step until final."""
    settlement = service.load_settlement(session, settlement_id, principal.organization_id, principal.is_operator)
    return settlement_public(session, settlement)


@router.get("/settlements/{settlement_id}/wait", response_model=SettlementPublic, status_code=200)
async def wait_for_settlement(
    settlement_id: uuid.UUID,
    principal: ReposRead,
    session: SessionDep,
    hub: HubDep,
    ctx: ContextDep,
    timeout: Annotated[float, Query(gt=0, le=60)] = 30.0,
) -> SettlementPublic:
    """Long poll: answers once the settlement is final or failed (or at ``timeout`` with its current state),
    holding no database transaction while it waits. A final settlement is answered only once the indexer has
    applied its ``final_block`` (within ``timeout``), so reads that follow reflect it."""
    settlement = await run_in_threadpool(
        service.load_settlement, session, settlement_id, principal.organization_id, principal.is_operator
    )
    pending = settlement.status == "pending"
    await run_in_threadpool(session.commit)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    relayer = hub.relayer
    # Rung when a settlement ends (this process's relayer, or the background process's through the doorbell):
    # the answer goes at once; the polls below only cover a lost ring.
    ended = ended_bell(hub)
    while pending and loop.time() < deadline:
        with ended.listening() if ended is not None else contextlib.nullcontext() as ring:
            if relayer is not None:
                if settlement_id in relayer.finished:
                    break
            else:  # the relayer runs in another process (several HTTP workers): the database says when it is done
                await run_in_threadpool(session.refresh, settlement)
                pending = settlement.status == "pending"
                await run_in_threadpool(session.commit)
                if not pending:
                    break
            if ring is None:
                await asyncio.sleep(0.1)
            else:
                await rung(ring, min(BELL_POLL_SECONDS, deadline - loop.time()))
    await run_in_threadpool(session.refresh, settlement)
    public = await run_in_threadpool(settlement_public, session, settlement)
    await run_in_threadpool(session.commit)
    indexer = hub.extra.get("indexer")
    indexing = indexer is not None or hub.relayer is None  # no relayer here: the workers run in another process
    if public.status == "final" and public.final_block is not None and indexing:
        # read-your-writes: "final" only once the indexer has applied the block (reads follow the indexer)
        remaining = max(0.0, deadline - loop.time())
        await freshness.wait_until_indexed_async(
            ctx.read_sessions, public.final_block, timeout=remaining, bell=indexed_bell(hub)
        )
    return public


_LIST_KEY = (SettlementParty.created_at, SettlementParty.settlement_id)


@functools.cache
def _listing(newest: bool, after: bool, by_status: bool, by_kind: bool) -> Select[Any]:
    """The list's statement for one shape of request, built once: each page runs it with its own values."""
    listed = cast("Select[Any]", select(*LISTED))  # one row type for ``pages.keyset_statement``
    query = listed.join(SettlementParty, SettlementParty.settlement_id == Settlement.id).where(
        visibility.party_of(bindparam("organization_id"))
    )
    if by_status:
        query = query.where(Settlement.status == bindparam("status"))
    if by_kind:
        query = query.where(Settlement.kind.in_(bindparam("kinds", expanding=True)))
    return pages.keyset_statement(query, newest, after, *_LIST_KEY)


@router.get("/settlements", response_model=SettlementsPublic, status_code=200)
async def list_settlements(
    principal: ReposRead,
    ctx: ContextDep,
    session: SessionDep,
    page: PageQuery,
    status: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> SettlementsPublic:
    """Settlements the organization is a party to (it asked for them, or they open its trades or carry out
    instructions it signed), newest first. A page is two indexed queries (the organization's range of settlement
    parties joined to the settlements, then all their steps) of plain columns, read on the event loop where reads
    never wait (``read_view``)."""

    def view() -> SettlementsPublic:
        values = pages.keyset_parameters(page, *_LIST_KEY) | {"organization_id": principal.organization_id}
        if status:
            values["status"] = status
        if kind:
            values["kinds"] = list(kind_spellings(kind))
        query = _listing(page.order is Order.NEWEST, page.cursor is not None, bool(status), bool(kind))
        found = session.connection().execute(query, values).all()
        rows, next_cursor = pages.finish(found, page, lambda s: (s.created_at, s.id))
        return SettlementsPublic(data=settlements_public(session, rows), next_cursor=next_cursor)

    return await read_view(ctx, view)
