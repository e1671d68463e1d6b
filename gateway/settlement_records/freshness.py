"""Read-your-writes: the block the indexed tables reflect, and waiting until they reflect a given block.

Reads of repos and positions come from the indexer's tables, which follow the chain a moment behind the relayer.
Every such read says the block it reflects (the indexer's cursor: every event up to it is applied), and a client
that has just seen a settlement final at block N asks ``min_block=N``: the read waits briefly for the indexer and
answers 409 ``block-not-indexed`` if it is still behind. ``/wait`` itself returns only once the settlement's last
block is indexed, so the read that follows a "final" reflects it without asking.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.exceptions import Conflict
from gateway.settlement_records.bell import Bell, rung
from gateway.settlement_records.models import IndexerCursor

CURSOR = "repo_engine"  # the indexer's cursor name (gateway.indexer.service.CURSOR)
HEADER = "X-Reponet-Block"  # response header: the block a read reflects
POLL_SECONDS = 0.05
BELL_POLL_SECONDS = 0.25  # with a bell: a read at each ring, and at least this often
MIN_BLOCK_WAIT_SECONDS = 5.0  # how long a read with ``min_block`` waits for the indexer before 409


class BlockNotIndexed(Conflict):
    title = "The indexer has not reached the block asked for yet"
    type_slug = "block-not-indexed"


def indexed_block(session: Session) -> int | None:
    """The last block whose engine events are all applied, or None before the indexer's first range."""
    found = session.execute(select(IndexerCursor.last_block).where(IndexerCursor.name == CURSOR)).scalar()
    return None if found is None else int(found)


def wait_until_indexed(
    sessions: Callable[[], Session], block: int, *, timeout: float, poll: float = POLL_SECONDS
) -> int | None:
    """Poll the cursor (each time in a fresh session: the indexer may be another process) until it reaches
    ``block`` or ``timeout`` passes; returns the cursor last seen."""
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as session:
            seen = indexed_block(session)
        if (seen is not None and seen >= block) or time.monotonic() >= deadline:
            return seen
        time.sleep(poll)


async def wait_until_indexed_async(
    sessions: Callable[[], Session],
    block: int,
    *,
    timeout: float,
    poll: float = POLL_SECONDS,
    bell: Bell | None = None,
) -> int | None:
    """As ``wait_until_indexed``, for the event loop: each database read in the thread pool, waits on the loop.
    ``bell``: rung when the indexer's cursor moves (``Indexer.bell``, or another process's through a doorbell);
    the cursor is then read at each ring, and every ``BELL_POLL_SECONDS`` in case one is lost."""
    from starlette.concurrency import run_in_threadpool

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def read() -> int | None:
        with sessions() as session:
            return indexed_block(session)

    while True:
        with bell.listening() if bell is not None else contextlib.nullcontext() as moved:
            seen = await run_in_threadpool(read)
            if (seen is not None and seen >= block) or loop.time() >= deadline:
                return seen
            if moved is None:
                await asyncio.sleep(poll)
            else:
                await rung(moved, min(BELL_POLL_SECONDS, deadline - loop.time()))


def require_block(
    session: Session, sessions: Callable[[], Session], min_block: int | None, *, timeout: float = MIN_BLOCK_WAIT_SECONDS
) -> int | None:
    """The block the read will reflect: at least ``min_block`` (waiting up to ``timeout`` for the indexer), else
    ``BlockNotIndexed``. The caller's session is rolled back first so that its next reads see what the indexer
    committed meanwhile."""
    seen = indexed_block(session)
    if min_block is None or (seen is not None and seen >= min_block):
        return seen
    session.rollback()
    seen = wait_until_indexed(sessions, min_block, timeout=timeout)
    if seen is None or seen < min_block:
        raise BlockNotIndexed(
            f"reads reflect block {seen if seen is not None else 'none'}; asked for at least {min_block}",
            as_of_block=seen,
            min_block=min_block,
        )
    return seen
