"""Read admission: reads beyond the limit wait before any work is done for them; writes, long polls and health
checks never wait for reads."""

from __future__ import annotations

import asyncio
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
    assert entered == ["GET /v1/positions", "POST /v1/trades", "GET /v1/settlements/x/wait", "GET /healthz"]


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
