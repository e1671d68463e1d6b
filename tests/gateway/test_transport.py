"""The gateway's JSON-RPC transport: a bounded pool of kept-alive connections, a fresh connection when the server
closed an idle one, clear errors otherwise. A small real HTTP server stands in for the node here; every e2e suite
runs the same transport against our node and Anvil."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.types import RPCEndpoint

from gateway.chain.connect import connect
from gateway.chain.outage import is_outage
from gateway.chain.transport import KeepAliveHTTPProvider
from gateway.tls import ensure_self_signed


class FakeNode(ThreadingHTTPServer):
    """Answers eth_chainId with 0x539 and echoes other methods; counts TCP connections and can drop them."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections = 0
        self.open_now = 0  # connections open at this moment
        self.most_open = 0  # the most ever open at once
        self.delay = 0.0  # seconds each answer waits
        self.busy_answers = 0  # the next this many requests are answered "over a limit" (EIP-1474 -32005)
        self.status = 200
        self.close_after_answer = False
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeNode

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.server.open_now += 1
            self.server.most_open = max(self.server.most_open, self.server.open_now)

    def finish(self) -> None:
        super().finish()
        with self.server.lock:
            self.server.open_now -= 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.server.lock:
            busy = self.server.busy_answers > 0
            self.server.busy_answers -= busy
        if busy:
            message = "too many concurrent calls from this client (at most 8)"
            return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32005, "message": message}}
        result = "0x539" if request["method"] == "eth_chainId" else request["method"]
        return {"jsonrpc": "2.0", "id": request["id"], "result": result}

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.server.delay:
            time.sleep(self.server.delay)  # a node busy with each answer: concurrent callers pile up
        if isinstance(payload, list):
            body = json.dumps([self.answer(item) for item in reversed(payload)]).encode()
        else:
            body = json.dumps(self.answer(payload)).encode()
        if self.server.close_after_answer:  # read before answering: once answered, the test may change it
            self.close_connection = True  # without "Connection: close": the client learns on its next request
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def node() -> Iterator[FakeNode]:
    server = FakeNode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_web3_calls_share_kept_alive_connections(node: FakeNode) -> None:
    w3 = connect(node.url)
    assert w3.eth.chain_id == 1337
    assert w3.eth.chain_id == 1337
    assert w3.provider.make_request(RPCEndpoint("net_version"), [])["result"] == "net_version"
    assert node.connections == 1

    def other() -> None:
        assert w3.provider.make_request(RPCEndpoint("eth_blockNumber"), [])["result"] == "eth_blockNumber"

    worker = threading.Thread(target=other)
    worker.start()
    worker.join()
    assert node.connections == 1  # another thread takes the free connection; it does not open its own


def test_many_threads_open_no_more_connections_than_the_pool_holds(node: FakeNode) -> None:
    """The gateway runs routes on up to 256 threads; with a connection each it opened more than the node admits
    from one address, and the node closed the excess (opens under load failed as outages). Callers beyond the pool
    wait for a free connection, and every call is answered."""
    node.delay = 0.05
    provider = KeepAliveHTTPProvider(node.url, max_connections=3)
    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(lambda i: provider.make_request(RPCEndpoint(f"m_{i}"), []), range(48)))
    assert [a["result"] for a in answers] == [f"m_{i}" for i in range(48)]
    assert node.most_open <= 3
    assert node.connections <= 3  # kept alive: reused, not reopened


def test_a_pool_busy_past_the_timeout_is_an_outage(node: FakeNode) -> None:
    node.delay = 1.0
    provider = KeepAliveHTTPProvider(node.url, timeout=10, max_connections=1, wait=0.2)
    busy = threading.Thread(target=provider.make_request, args=(RPCEndpoint("slow"), []))
    busy.start()
    deadline = time.monotonic() + 5
    while node.open_now == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the first call holds the one connection
    with pytest.raises(ConnectionError, match="busy"):
        provider.make_request(RPCEndpoint("eth_chainId"), [])
    busy.join()


def test_a_node_over_its_limit_is_asked_again_and_then_an_outage(node: FakeNode) -> None:
    """The node refuses calls beyond its per-client cap before running them (-32005): that is not its verdict on
    the call (it was a "reverted" 502 before), so it is asked again, and a node that stays busy is an outage."""
    provider = KeepAliveHTTPProvider(node.url)
    node.busy_answers = 2
    assert provider.make_request(RPCEndpoint("eth_call"), [])["result"] == "eth_call"
    assert node.busy_answers == 0
    node.busy_answers = 100
    with pytest.raises(ConnectionError, match="node busy: too many concurrent calls") as busy:
        provider.make_request(RPCEndpoint("eth_call"), [])
    assert is_outage(busy.value)  # 503 and retried by the outbox, not a refusal
    assert node.busy_answers == 100 - 6


def test_a_pool_needs_a_connection() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        KeepAliveHTTPProvider("http://127.0.0.1:8545", max_connections=0)


def test_a_connection_the_server_closed_is_replaced(node: FakeNode) -> None:
    provider = KeepAliveHTTPProvider(node.url)
    node.close_after_answer = True
    for _ in range(3):
        assert provider.make_request(RPCEndpoint("eth_chainId"), [])["result"] == "0x539"
    assert node.connections == 3


def test_when_the_server_closed_every_idle_connection_the_call_is_asked_again_on_a_new_one(node: FakeNode) -> None:
    """A node closes idle keep-alive connections after its timeout, all of them alike. The call asked again after
    the first stale one must not take a second stale one (opens failed as "chain unavailable" with a broken pipe
    after a quiet minute)."""
    provider = KeepAliveHTTPProvider(node.url, max_connections=3)
    node.delay, node.close_after_answer = 0.2, True  # three at once: three connections, each closed after its answer
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert len(list(pool.map(lambda i: provider.make_request(RPCEndpoint(f"m_{i}"), []), range(3)))) == 3
    assert node.connections == 3
    node.delay, node.close_after_answer = 0.0, False
    assert provider.make_request(RPCEndpoint("eth_chainId"), [])["result"] == "0x539"
    assert node.connections == 4  # one new connection; the two other stale ones were dropped, not tried
    assert provider.make_request(RPCEndpoint("eth_chainId"), [])["result"] == "0x539"
    assert node.connections == 4  # and it is kept alive


def test_a_non_200_answer_raises(node: FakeNode) -> None:
    node.status = 500
    provider = KeepAliveHTTPProvider(node.url)
    with pytest.raises(ConnectionError, match="HTTP 500"):
        provider.make_request(RPCEndpoint("eth_chainId"), [])


def test_no_server_raises_and_is_not_connected() -> None:
    server = FakeNode()
    url = server.url
    server.server_close()  # the port is free again: nothing listens
    provider = KeepAliveHTTPProvider(url, timeout=2)
    with pytest.raises(ConnectionError):
        provider.make_request(RPCEndpoint("eth_chainId"), [])
    assert Web3(provider).is_connected() is False


def test_batch_answers_come_back_in_request_order(node: FakeNode) -> None:
    provider = KeepAliveHTTPProvider(node.url)
    answers = provider.make_batch_request([(RPCEndpoint("a_one"), []), (RPCEndpoint("b_two"), [])])
    assert isinstance(answers, list)
    assert [answer["result"] for answer in answers] == ["a_one", "b_two"]


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="not an HTTP"):
        KeepAliveHTTPProvider("ws://127.0.0.1:8546")


def test_an_https_node_whose_certificate_is_not_trusted_is_refused(tmp_path: Path) -> None:
    """TLS to the node is verified against the system's CAs: a self-signed certificate gets no request through."""
    server = FakeNode()
    cert, key = ensure_self_signed(tmp_path, "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        provider = KeepAliveHTTPProvider(f"https://127.0.0.1:{server.server_address[1]}", timeout=5)
        with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            provider.make_request(RPCEndpoint("eth_chainId"), [])
    finally:
        server.shutdown()
        server.server_close()
