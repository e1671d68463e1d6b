"""Graceful drain of an API replica: on SIGTERM its listener closes at once (a balancer sends new connections to the
other replicas), while a request in progress still gets its answer, and the process then exits cleanly.

The request in progress is a ``/readyz`` whose chain check waits on a JSON-RPC endpoint this test serves, which
answers ``eth_blockNumber`` only after a pause once asked to be slow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from gateway.orchestrator.replicas import free_port
from tests.e2e.chains import DEV_KEY, ROOT
from tests.scale.stack import wait_until

PAUSE_SECONDS = 3.0


class SlowNode:
    """JSON-RPC on a loopback port: every call answered at once, ``eth_blockNumber`` after a pause once ``slow``."""

    def __init__(self) -> None:
        self.slow = threading.Event()
        self.asked = threading.Event()  # a slow call is being answered
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if request.get("method") == "eth_blockNumber" and node.slow.is_set():
                    node.asked.set()
                    time.sleep(PAUSE_SECONDS)
                result = "0x7a69" if request.get("method") == "eth_chainId" else "0x1"
                body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def node() -> Iterator[SlowNode]:
    slow = SlowNode()
    slow.thread.start()
    yield slow
    slow.server.shutdown()
    slow.server.server_close()


@pytest.mark.timeout(300)
def test_sigterm_closes_the_listener_and_finishes_the_request_in_progress(tmp_path: Path, node: SlowNode) -> None:
    port = free_port("127.0.0.1")
    env = {
        **os.environ,
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": "t" * 48,
        "REPONET_DATA_DIR": str(tmp_path / "data"),
        "REPONET_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "REPONET_BACKGROUND_WORK": "false",  # an API replica
        "REPONET_CHAIN_RPC_URL": node.url,
        "REPONET_CHAIN_PRIVATE_KEY": DEV_KEY,
        "REPONET_IDENTITY_REGISTRY_ADDRESS": "0x" + "11" * 20,
        "REPONET_AUDIT_ANCHOR_ADDRESS": "0x" + "22" * 20,
        "REPONET_ANCHOR_INTERVAL_SECONDS": "0",
    }
    log = tmp_path / "replica.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "gateway", "run", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    base = f"https://127.0.0.1:{port}"
    try:
        wait_until("the replica answers", lambda: httpx.get(base + "/healthz", verify=False).status_code == 200, 120)
        node.slow.set()
        answer: dict[str, httpx.Response] = {}
        in_progress = threading.Thread(
            target=lambda: answer.update(ready=httpx.get(base + "/readyz", verify=False, timeout=30)), daemon=True
        )
        in_progress.start()
        assert node.asked.wait(30), "the readiness check never reached the chain"
        proc.send_signal(signal.SIGTERM)

        def refused() -> bool:
            try:
                httpx.get(base + "/healthz", verify=False, timeout=1)
            except httpx.ConnectError:
                return True
            return False

        wait_until("new connections are refused", refused, PAUSE_SECONDS - 0.5)
        in_progress.join(timeout=30)
        assert answer["ready"].status_code == 200, answer["ready"].text  # the request in progress was answered
        # uvicorn exits by the signal it was stopped with, once its shutdown is complete
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text(errors="replace")
        assert "Application shutdown complete" in log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
