"""What one client may hold of the node (node.rpc.limits, node.rpc.connections): answer sizes, WebSocket send
queues, filters and subscriptions, connections and silence.

Before, a batch of 1,000 cheap reads built a 200 MB answer on the event loop, a WebSocket client that never read
had everything buffered for it, one client could take every filter slot, connections were unlimited and could
stay silent for ever, and an id of 2**70 came back as a float.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from scripts.harness.node_process import NodeProcess, RpcFailure, start_node

LIMIT_EXCEEDED = -32005


@pytest.fixture(scope="module")
def tight_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = start_node(
        tmp_path_factory.mktemp("limits") / "data",
        "--block-time",
        "0.1",
        "--rpc-max-response-bytes",
        "4000",
        "--rpc-ws-queue",
        "8",
        "--rpc-client-filters",
        "3",
        "--rpc-client-subscriptions",
        "3",
        "--rpc-connections-per-address",
        "6",
        "--rpc-idle-timeout",
        "1",
    )
    yield node
    node.stop()


def ws_url(node: NodeProcess) -> str:
    return f"ws://127.0.0.1:{node.port}"


def metric(node: NodeProcess, name: str) -> int:
    with urllib.request.urlopen(f"{node.url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
    raise AssertionError(f"no metric {name}")


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError


def test_a_batch_stops_growing_at_the_answer_size_limit(tight_node: NodeProcess) -> None:
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_getBlockByNumber", "params": ["0x0", False]} for i in range(40)]
    answers = tight_node.post(batch)
    assert [a["id"] for a in answers] == list(range(40))  # every item answered, in order
    served = [a for a in answers if "result" in a]
    refused = [a for a in answers if "error" in a]
    assert served and refused
    assert len(json.dumps(served, separators=(",", ":"))) <= 4000
    assert all(a["error"]["code"] == LIMIT_EXCEEDED for a in refused)
    assert refused[0]["error"]["message"] == "response size exceeded: at most 4000 bytes per request"
    assert answers.index(refused[0]) == len(served)  # the served ones come first, the rest is refused


def test_huge_integer_ids_round_trip_exactly(tight_node: NodeProcess) -> None:
    answer = tight_node.post({"jsonrpc": "2.0", "id": 2**70, "method": "eth_chainId", "params": []})
    assert answer["id"] == 2**70 and isinstance(answer["id"], int)


def test_filters_are_capped_per_client(tight_node: NodeProcess) -> None:
    installed = [tight_node.call("eth_newBlockFilter") for _ in range(3)]
    with pytest.raises(RpcFailure) as failure:
        tight_node.call("eth_newBlockFilter")
    assert failure.value.code == LIMIT_EXCEEDED
    assert tight_node.call("eth_uninstallFilter", installed[0]) is True
    installed[0] = tight_node.call("eth_newBlockFilter")  # a slot again
    for fid in installed:
        tight_node.call("eth_uninstallFilter", fid)


def subscribe(ws: object, n: int) -> dict[str, object]:
    ws.send(json.dumps({"jsonrpc": "2.0", "id": n, "method": "eth_subscribe", "params": ["newPendingTransactions"]}))  # type: ignore[attr-defined]
    while True:
        message = json.loads(ws.recv(timeout=10))  # type: ignore[attr-defined]
        if message.get("id") == n:
            return message  # type: ignore[no-any-return]


def test_subscriptions_are_capped_per_client_and_released_once_with_their_connection(tight_node: NodeProcess) -> None:
    with connect(ws_url(tight_node)) as first, connect(ws_url(tight_node)) as second:
        assert "result" in subscribe(first, 1) and "result" in subscribe(first, 2)
        assert "result" in subscribe(second, 3)
        refused = subscribe(second, 4)
        assert refused["error"]["code"] == LIMIT_EXCEEDED  # type: ignore[index]
        first.close()
        wait_for(lambda: "result" in subscribe(second, 5))  # the closed connection's two are free again
        assert "result" in subscribe(second, 6)
        assert subscribe(second, 7)["error"]["code"] == LIMIT_EXCEEDED  # type: ignore[index]


def test_a_websocket_client_that_does_not_read_is_disconnected(tight_node: NodeProcess) -> None:
    before = metric(tight_node, "reponet_ws_slow_disconnects_total")
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["latest", True]})
    with connect(ws_url(tight_node), max_queue=1) as ws:  # the client stops reading after one message
        try:
            for _ in range(50_000):
                ws.send(request)
                if metric_now(tight_node) > before:
                    break
        except ConnectionClosed:
            pass
    wait_for(lambda: metric(tight_node, "reponet_ws_slow_disconnects_total") > before)


_last_check = [0.0]


def metric_now(node: NodeProcess) -> int:
    """The slow-reader count, read at most every 0.2 s while sending."""
    if time.monotonic() - _last_check[0] < 0.2:
        return -1
    _last_check[0] = time.monotonic()
    return metric(node, "reponet_ws_slow_disconnects_total")


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_connections_are_capped_per_address_and_closed_when_silent(tight_node: NodeProcess) -> None:
    wait_for(lambda: metric(tight_node, "reponet_rpc_connections_refused_total") >= 0)
    refused_before = metric(tight_node, "reponet_rpc_connections_refused_total")
    silent = [socket.create_connection(("127.0.0.1", tight_node.port), timeout=10) for _ in range(6)]
    try:
        extra = socket.create_connection(("127.0.0.1", tight_node.port), timeout=10)
        wait_for(lambda: closed_by_server(extra), timeout=10)  # over the cap: closed before anything is read
        extra.close()
        wait_for(lambda: all(closed_by_server(s) for s in silent), timeout=30)  # silent for longer than 1 s
    finally:
        for sock in silent:
            sock.close()
    assert metric(tight_node, "reponet_rpc_connections_refused_total") > refused_before


def test_a_silent_websocket_is_closed(tight_node: NodeProcess) -> None:
    with connect(ws_url(tight_node)) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=30)
