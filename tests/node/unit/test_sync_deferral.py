"""A validator executing this height's proposal does not sync the block its peers just committed (most likely that
very block, whose COMMITs are on their way): it looks again once the execution is done and the height is still
undecided. A peer two or more blocks ahead is synced from at once. A block decided while this node still executes it
is committed from that execution, not executed again."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from node.qbft.engine import Metrics, QbftEngine

HEAD = 5


PROPOSED = b"\x01" * 32  # the block proposed at this height


def engine(peer_heads: list[int], validating: bool, digest: bytes = PROPOSED) -> tuple[QbftEngine, list[int]]:
    eng = QbftEngine.__new__(QbftEngine)
    eng.chain = cast(Any, SimpleNamespace(head=SimpleNamespace(block_number=HEAD)))
    eng.peers = cast(Any, SimpleNamespace(connected=lambda: [SimpleNamespace(head_number=h) for h in peer_heads]))
    eng.hs = cast(Any, SimpleNamespace(blocks={PROPOSED: None}, decided=None))
    eng._sync_task = None
    loop = asyncio.get_running_loop()
    eng._validating = {digest: loop.create_future()} if validating else {}
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


def test_an_earlier_heights_execution_does_not_defer_a_sync() -> None:
    async def run() -> list[int]:
        eng, synced = engine([HEAD + 1], validating=True, digest=b"\x09" * 32)  # a block of an earlier height
        eng._maybe_sync()
        await settle(eng)
        return synced

    assert asyncio.run(run()) == [1]


def test_deferred_sync_runs_after_the_execution() -> None:
    async def run() -> list[int]:
        eng, synced = engine([HEAD + 1], validating=False)
        hs = eng.hs
        eng.candidates = {}

        async def validate_once(_hs: Any, _proposal: Any) -> None:
            eng._maybe_sync()  # a STATUS arriving while the proposal executes: deferred
            assert eng._sync_task is None

        eng._validate_once = validate_once  # type: ignore[method-assign]
        await eng._validate(hs, cast(Any, SimpleNamespace(digest=PROPOSED)))
        await settle(eng)
        return synced

    assert asyncio.run(run()) == [1]


def test_decided_block_being_executed_is_committed_from_that_execution() -> None:
    """The others' COMMIT quorum arriving while this node still executes the block: it waits for that execution
    and commits its result; it does not execute the block a second time (``import_block``)."""

    async def run() -> list[str]:
        eng = QbftEngine.__new__(QbftEngine)
        calls: list[str] = []
        built = SimpleNamespace(transactions=[])
        digest = b"\x03" * 32
        hs = SimpleNamespace(height=HEAD + 1)
        eng.hs = cast(Any, hs)
        eng.metrics = Metrics()
        eng.candidates = {}
        eng._chain_lock = asyncio.Lock()
        eng.chain = cast(
            Any,
            SimpleNamespace(
                head=SimpleNamespace(block_number=HEAD),
                commit_candidate=lambda _candidate, _seals: calls.append("commit") or built,
                import_block=lambda _header, _txs: calls.append("import") or built,
            ),
        )
        eng._after_block = lambda _built: calls.append("after")  # type: ignore[method-assign]
        executing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        eng._validating = {digest: executing}
        block = SimpleNamespace(digest=digest, header=None, transactions=())
        decision = SimpleNamespace(round=0, block=block, seals=(b"seal",))
        task = asyncio.create_task(eng._decide(cast(Any, hs), cast(Any, decision)))
        await asyncio.sleep(0.01)
        assert calls == []  # still executing: nothing committed yet
        eng.candidates[digest] = cast(Any, object())  # the execution's result
        executing.set_result(None)
        await task
        return calls

    assert asyncio.run(run()) == ["commit", "after"]
