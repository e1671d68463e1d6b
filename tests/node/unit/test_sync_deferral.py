"""A validator executing this height's proposal does not sync the block its peers just committed (most likely that
very block, whose COMMITs are on their way): it looks again once the execution is done and the height is still
undecided. A peer two or more blocks ahead is synced from at once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from node.qbft.engine import QbftEngine

HEAD = 5


def engine(peer_heads: list[int], validating: bool) -> tuple[QbftEngine, list[int]]:
    eng = QbftEngine.__new__(QbftEngine)
    eng.chain = cast(Any, SimpleNamespace(head=SimpleNamespace(block_number=HEAD)))
    eng.peers = cast(Any, SimpleNamespace(connected=lambda: [SimpleNamespace(head_number=h) for h in peer_heads]))
    eng._sync_task = None
    loop = asyncio.get_running_loop()
    eng._validating = {b"\x01" * 32: loop.create_future()} if validating else {}
    synced: list[int] = []

    async def sync() -> None:
        synced.append(1)

    eng._sync = sync  # type: ignore[method-assign]
    return eng, synced


async def settle(eng: QbftEngine) -> None:
    if eng._sync_task is not None:
        await eng._sync_task


@pytest.mark.parametrize(
    ("peer_heads", "validating", "expected"),
    [
        ([HEAD + 1, HEAD], True, []),  # one block ahead while we execute the proposal: wait for the COMMITs
        ([HEAD + 1], False, [1]),  # nothing executing: sync
        ([HEAD + 2, HEAD + 1], True, [1]),  # further ahead than the block being executed: sync
        ([HEAD, HEAD - 1], False, []),  # nobody ahead
    ],
)
def test_sync_while_validating(peer_heads: list[int], validating: bool, expected: list[int]) -> None:
    async def run() -> list[int]:
        eng, synced = engine(peer_heads, validating)
        eng._maybe_sync()
        await settle(eng)
        return synced

    assert asyncio.run(run()) == expected


def test_deferred_sync_runs_after_the_execution() -> None:
    async def run() -> list[int]:
        eng, synced = engine([HEAD + 1], validating=False)
        hs = SimpleNamespace(decided=None)
        eng.hs = cast(Any, hs)
        eng.candidates = {}

        async def validate_once(_hs: Any, _proposal: Any) -> None:
            eng._maybe_sync()  # a STATUS arriving while the proposal executes: deferred
            assert eng._sync_task is None

        eng._validate_once = validate_once  # type: ignore[method-assign]
        await eng._validate(cast(Any, hs), cast(Any, SimpleNamespace(digest=b"\x02" * 32)))
        await settle(eng)
        return synced

    assert asyncio.run(run()) == [1]
