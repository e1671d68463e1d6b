"""JSON from clients is bounded before it is parsed: nesting, strings, numbers, arrays, objects; over HTTP and over
the WebSocket stream, against the real server process."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from gateway.api.bounded_json import DEFAULT_LIMITS, InvalidJson, decode
from tests.gateway.conftest import World

LIMITS = DEFAULT_LIMITS


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "body",
    [
        nested(LIMITS.max_depth + 1),
        nested(100_000),  # far past Python's raised recursion limit: refused, never a stack overflow
        b'{"a":' * (LIMITS.max_depth + 1) + b"1" + b"}" * (LIMITS.max_depth + 1),
        b'"' + b"x" * (LIMITS.max_string_chars + 1) + b'"',
        b'{"' + b"k" * (LIMITS.max_string_chars + 1) + b'":1}',
        b"1" * (LIMITS.max_number_chars + 1),
        b"[" + b",".join([b"0"] * (LIMITS.max_array_items + 1)) + b"]",
        b"{" + b",".join(b'"k%d":0' % i for i in range(LIMITS.max_object_members + 1)) + b"}",
        b"NaN",
        b'"\\ud800"',
        b"[1,]",
    ],
)
def test_bounds_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidJson):
        decode(body)


def test_within_bounds_is_parsed() -> None:
    assert decode(nested(LIMITS.max_depth)) is not None
    assert decode(b'{"digits": "' + b"1" * 500 + b'", "n": 12}') == {"digits": "1" * 500, "n": 12}
    assert decode(b"[" + b",".join([b"0"] * LIMITS.max_array_items) + b"]") == [0] * LIMITS.max_array_items


@pytest.mark.parametrize("body", [nested(40), nested(30_000), b'{"email":"' + b"a" * 20_000 + b'"}'])
def test_http_bodies_beyond_bounds_answer_400(world: World, body: bytes) -> None:
    response = world.client.post("/v1/auth/login", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["type"].endswith("/invalid-json")
    untyped = world.client.post("/v1/auth/login", content=body)  # FastAPI parses a body without a type as JSON
    assert untyped.status_code == 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext, subprocess.Popen[bytes]]]:
    """``reponet gateway run`` as its own process (a crash shows as the process gone)."""
    port = _free_port()
    env = {
        **os.environ,
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": "s" * 48,
        "REPONET_DATA_DIR": str(tmp_path / "data"),
        "REPONET_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'gateway.db'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "gateway", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cert = tmp_path / "data" / "tls" / "tls-cert.pem"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the gateway exited while starting"
            assert time.monotonic() < deadline, "the gateway did not start"
            if cert.exists():
                context = ssl.create_default_context(cafile=str(cert))
                try:
                    httpx.get(f"https://127.0.0.1:{port}/healthz", verify=context)
                    break
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", context, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _alive(address: str, context: ssl.SSLContext, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        return False
    return httpx.get(f"https://{address}/healthz", verify=context).status_code == 200


def test_the_server_process_survives_adversarial_json(
    gateway_process: tuple[str, ssl.SSLContext, subprocess.Popen[bytes]],
) -> None:
    address, context, proc = gateway_process
    # 100,000 levels in one stream message: the standard library's scanner, under the recursion limit py_ecc
    # raises, overflowed the C stack and the gateway died (SIGSEGV). Now the message is over the size cap.
    with connect(f"wss://{address}/v1/stream", ssl=context, open_timeout=20, max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(nested(100_000).decode())
            ws.recv(timeout=20)
    assert _alive(address, context, proc)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
    # Under the cap, 30,000 levels as the stream's first message (read as JSON, for a token): refused.
    deep = nested(30_000)
    with connect(f"wss://{address}/v1/stream", ssl=context, open_timeout=20) as ws:
        ws.send(deep.decode())
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007  # invalid payload
    assert "depth" in closed.value.rcvd.reason
    assert _alive(address, context, proc)
    # The same as an HTTP body: a clear 400 before any parser runs.
    answer = httpx.post(
        f"https://{address}/v1/auth/login", content=deep, headers={"content-type": "application/json"}, verify=context
    )
    assert answer.status_code == 400 and answer.json()["type"].endswith("/invalid-json")
    assert _alive(address, context, proc)
