"""Two ``reponet surveillance run`` processes against one gateway (the test app served on a port of its own): one
leads, the other stands by; the leader is killed with SIGKILL and the standby leads within 5 s, with the next
fencing token; stopped with SIGTERM, it releases the lease and exits cleanly."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from gateway.leases.models import ServiceLease
from tests.gateway.conftest import Cast, World
from tests.gateway.surveillance.test_cases import service_key
from tests.scale.stack import Proc, wait_until

TAKEOVER_SECONDS = 5.0


@pytest.fixture
def gateway_url(world: World) -> Iterator[str]:
    """The world's app over plain HTTP on 127.0.0.1 (port 0), its lifespan already run by the test client."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(world.client.app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until("the test gateway serves", lambda: server.started, 30)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _lease(world: World) -> ServiceLease | None:
    with world.ctx.sessions() as session:
        return session.get(ServiceLease, ("surveillance", world.orgs["op"]), populate_existing=True)


def _holder(proc: Proc) -> str:
    assert proc.proc is not None
    return f"{socket.gethostname()}:{proc.proc.pid}"


def test_two_services_elect_one_and_the_standby_takes_over_within_5_s(
    world: World, cast: Cast, tmp_path: Path, gateway_url: str
) -> None:
    key = service_key(world, cast, tmp_path)["X-API-Key"]
    config = tmp_path / "service.json"
    config.write_text(json.dumps({"gateway_url": gateway_url, "api_key": key, "ca_file": None}))
    env = {
        **os.environ,
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": "s" * 48,
        "REPONET_DATA_DIR": str(tmp_path / "service"),
    }
    command = [sys.executable, "-m", "gateway.cli", "surveillance", "run", "--config", str(config)]
    command += ["--state", str(tmp_path / "service" / "state.db"), "--models", str(tmp_path / "models")]
    one = Proc("one", command, env, tmp_path / "one.log")
    two = Proc("two", command, env, tmp_path / "two.log")
    try:
        one.start()
        wait_until("one leads", lambda: "lease surveillance: leading" in one.output(), 60)
        two.start()
        wait_until("two stands by", lambda: "lease surveillance: standing by" in two.output(), 60)
        lease = _lease(world)
        assert lease is not None and lease.holder == _holder(one) and lease.token == 1
        assert "leading" not in two.output()

        one.kill()
        killed = time.monotonic()
        wait_until("two leads", lambda: "lease surveillance: leading" in two.output(), TAKEOVER_SECONDS)
        took = time.monotonic() - killed
        lease = _lease(world)
        assert lease is not None and lease.holder == _holder(two) and lease.token == 2
        print(f"standby took over {took:.2f} s after the leader was killed")

        two.stop()
        assert two.proc is not None and two.proc.returncode == 0, two.output()
        lease = _lease(world)
        assert lease is not None and lease.expires_at <= datetime.now(UTC)  # released on SIGTERM
    finally:
        one.stop()
        two.stop()
