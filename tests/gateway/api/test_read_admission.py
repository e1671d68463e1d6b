"""Read admission: reads beyond the limit wait before any work is done for them; writes, long polls and health
checks never wait for reads."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from starlette.types import Receive, Scope, Send

from gateway.api.admission import ReadAdmission


class Gate:
    """An app whose requests are held until released, recording which entered."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered.append(f"{scope['method']} {scope['path']}")
        await self.release.wait()


def http(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path}


async def nothing() -> Any:
    return {}


async def ignore(_: Any) -> None:
    return None


def test_reads_queue_beyond_the_limit_but_writes_long_polls_and_health_pass() -> None:
    async def scenario() -> list[str]:
        gate = Gate()
        admission = ReadAdmission(gate, limit=1)
        requests = [
            http("GET", "/v1/positions"),
            http("GET", "/v1/balances"),  # waits: the one slot is taken
            http("POST", "/v1/trades"),
            http("GET", "/v1/settlements/x/wait"),
            http("GET", "/v1/gc/instructions"),
            http("GET", "/healthz"),
        ]
        tasks = [asyncio.create_task(admission(r, nothing, ignore)) for r in requests]
        for _ in range(20):
            await asyncio.sleep(0)
        entered = list(gate.entered)
        gate.release.set()
        await asyncio.gather(*tasks)
        assert gate.entered[-1] == "GET /v1/balances"  # admitted once the first read finished
        return entered

    entered = asyncio.run(scenario())
    assert entered == [
        "GET /v1/positions",
        "POST /v1/trades",
        "GET /v1/settlements/x/wait",
        "GET /v1/gc/instructions",
        "GET /healthz",
    ]


def test_no_limit_admits_every_read() -> None:
    async def scenario() -> list[str]:
        gate = Gate()
        admission = ReadAdmission(gate, limit=0)
        tasks = [asyncio.create_task(admission(http("GET", f"/v1/r{i}"), nothing, ignore)) for i in range(5)]
        for _ in range(20):
            await asyncio.sleep(0)
        entered = list(gate.entered)
        gate.release.set()
        await asyncio.gather(*tasks)
        return entered

    assert len(asyncio.run(scenario())) == 5


class Held:
    """An app whose requests each wait for their own path's release, recording which entered."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.releases: dict[str, asyncio.Event] = {}

    def release(self, path: str) -> None:
        self.releases.setdefault(path, asyncio.Event()).set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered.append(f"{scope['method']} {scope['path']}")
        await self.releases.setdefault(str(scope["path"]), asyncio.Event()).wait()


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_while_a_write_is_in_progress_reads_are_admitted_one_at_a_time_then_up_to_the_limit_again() -> None:
    async def scenario() -> list[list[str]]:
        app = Held()
        admission = ReadAdmission(app, limit=3, limit_writing=1)
        seen: list[list[str]] = []
        write = asyncio.create_task(admission(http("POST", "/v1/trades"), nothing, ignore))
        await settle()
        reads = [asyncio.create_task(admission(http("GET", f"/v1/r{i}"), nothing, ignore)) for i in range(4)]
        await settle()
        seen.append(list(app.entered))  # the write and one read
        app.release("/v1/r0")
        await settle()
        seen.append(list(app.entered))  # the next read takes the one slot
        app.release("/v1/trades")
        await write
        await settle()
        seen.append(list(app.entered))  # no write: up to three reads at once
        for i in range(4):
            app.release(f"/v1/r{i}")
        await asyncio.gather(*reads)
        return seen

    during, next_one, after = asyncio.run(scenario())
    assert during == ["POST /v1/trades", "GET /v1/r0"]
    assert next_one == ["POST /v1/trades", "GET /v1/r0", "GET /v1/r1"]
    assert after == ["POST /v1/trades", "GET /v1/r0", "GET /v1/r1", "GET /v1/r2", "GET /v1/r3"]


def test_reads_in_progress_when_a_write_arrives_finish_but_none_is_added_past_the_writing_limit() -> None:
    async def scenario() -> list[str]:
        app = Held()
        admission = ReadAdmission(app, limit=2, limit_writing=1)
        first = [asyncio.create_task(admission(http("GET", f"/v1/r{i}"), nothing, ignore)) for i in range(2)]
        await settle()
        write = asyncio.create_task(admission(http("POST", "/v1/trades"), nothing, ignore))
        later = asyncio.create_task(admission(http("GET", "/v1/r9"), nothing, ignore))
        await settle()
        app.release("/v1/r0")  # two in progress became one: still not below the writing limit
        await settle()
        entered = list(app.entered)
        for path in ("/v1/r1", "/v1/trades", "/v1/r9"):
            app.release(path)
        await asyncio.gather(*first, write, later)
        return entered

    assert asyncio.run(scenario()) == ["GET /v1/r0", "GET /v1/r1", "POST /v1/trades"]


def test_while_settlement_work_is_pending_reads_are_admitted_one_at_a_time_then_up_to_the_limit_again() -> None:
    """With one HTTP worker the relayer is a thread of the process: its pending settlements count as a write."""

    async def scenario() -> list[list[str]]:
        app = Held()
        pending = [True]
        admission = ReadAdmission(app, limit=3, limit_writing=1, settling=lambda: pending[0])
        seen: list[list[str]] = []
        reads = [asyncio.create_task(admission(http("GET", f"/v1/r{i}"), nothing, ignore)) for i in range(4)]
        await settle()
        seen.append(list(app.entered))  # one read while the relayer works
        pending[0] = False
        app.release("/v1/r0")  # the settlement ended: as many as there is room for
        await settle()
        seen.append(list(app.entered))
        for i in range(4):
            app.release(f"/v1/r{i}")
        await asyncio.gather(*reads)
        return seen

    during, after = asyncio.run(scenario())
    assert during == ["GET /v1/r0"]
    assert after == ["GET /v1/r0", "GET /v1/r1", "GET /v1/r2", "GET /v1/r3"]


def test_queued_reads_are_admitted_in_arrival_order_and_a_newcomer_does_not_overtake() -> None:
    async def scenario() -> list[str]:
        app = Held()
        admission = ReadAdmission(app, limit=1)
        reads = [asyncio.create_task(admission(http("GET", f"/v1/r{i}"), nothing, ignore)) for i in range(3)]
        await settle()
        app.release("/v1/r0")  # the slot frees just as another read arrives
        reads.append(asyncio.create_task(admission(http("GET", "/v1/r3"), nothing, ignore)))
        await settle()
        entered = list(app.entered)
        for path in ("/v1/r1", "/v1/r2", "/v1/r3"):
            app.release(path)
            await settle()
        await asyncio.gather(*reads)
        assert app.entered == ["GET /v1/r0", "GET /v1/r1", "GET /v1/r2", "GET /v1/r3"]
        return entered

    assert asyncio.run(scenario()) == ["GET /v1/r0", "GET /v1/r1"]


def test_a_queued_read_whose_client_left_gives_its_turn_to_the_next() -> None:
    async def scenario() -> list[str]:
        app = Held()
        admission = ReadAdmission(app, limit=1)
        first = asyncio.create_task(admission(http("GET", "/v1/r0"), nothing, ignore))
        await settle()
        gone = asyncio.create_task(admission(http("GET", "/v1/gone"), nothing, ignore))
        then = asyncio.create_task(admission(http("GET", "/v1/r1"), nothing, ignore))
        await settle()
        gone.cancel()
        app.release("/v1/r0")
        await settle()
        entered = list(app.entered)
        app.release("/v1/r1")
        await asyncio.gather(first, then)
        assert admission.reads == 0  # no slot kept by the read that left
        return entered

    assert asyncio.run(scenario()) == ["GET /v1/r0", "GET /v1/r1"]


def test_a_read_cancelled_after_a_grant_passed_over_it_ends_cancelled_not_in_error() -> None:
    """A shutdown cancels every task at once: a queued read's turn can be passed over before the read resumes."""

    async def scenario() -> BaseException | None:
        app = Held()
        admission = ReadAdmission(app, limit=1)
        first = asyncio.create_task(admission(http("GET", "/v1/r0"), nothing, ignore))
        await settle()
        queued = asyncio.create_task(admission(http("GET", "/v1/q"), nothing, ignore))
        await settle()
        app.release("/v1/r0")
        await asyncio.sleep(0)  # r0 ends; its slot comes back at the loop's next turn ...
        await asyncio.sleep(0)  # ... where it is handed to the queued read, which has not run since
        assert admission.reads == 1 and not admission._waiting
        queued.cancel()  # cancelled before it runs again: it gives the slot on
        results = await asyncio.gather(first, queued, return_exceptions=True)
        assert admission.reads == 0
        return results[1] if isinstance(results[1], BaseException) else None

    assert isinstance(asyncio.run(scenario()), asyncio.CancelledError)


def test_when_settlement_work_ends_a_new_read_lets_the_queue_in_first() -> None:
    async def scenario() -> list[str]:
        app = Held()
        pending = [True]
        admission = ReadAdmission(app, limit=3, limit_writing=1, settling=lambda: pending[0])
        reads = [asyncio.create_task(admission(http("GET", f"/v1/r{i}"), nothing, ignore)) for i in range(3)]
        await settle()
        pending[0] = False  # no read ended, no write ended: only the next arrival sees the room
        reads.append(asyncio.create_task(admission(http("GET", "/v1/r3"), nothing, ignore)))
        await settle()
        entered = list(app.entered)
        for i in range(4):
            app.release(f"/v1/r{i}")
        await asyncio.gather(*reads)
        return entered

    assert asyncio.run(scenario()) == ["GET /v1/r0", "GET /v1/r1", "GET /v1/r2"]


def test_reads_served_within_one_turn_of_the_loop_take_at_most_the_limit_per_turn() -> None:
    """A read that never suspends (served on the event loop) keeps its slot until the loop's next turn: a burst
    of them is served ``limit`` per turn, so the loop gets back to its other work (a TLS handshake, a write)
    between turns instead of serving the whole burst in one."""

    async def scenario() -> list[int]:
        turn = 0
        served: list[int] = []

        async def inline(scope: Scope, receive: Receive, send: Send) -> None:
            served.append(turn)

        async def ticker() -> None:  # one increment per turn of the loop
            nonlocal turn
            while True:
                await asyncio.sleep(0)
                turn += 1

        admission = ReadAdmission(inline, limit=2)
        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(admission(http("GET", f"/v1/r{i}"), nothing, ignore) for i in range(10)))
        tick.cancel()
        return served

    served = asyncio.run(scenario())
    assert len(served) == 10
    assert max(Counter(served).values()) == 2  # every read at once in one turn without the deferred release
    assert len(set(served)) == 5
