"""Reads never starve writes: client calls run under budgets on their own threads (node.rpc.budget).

Before, ten ``eth_call``s of an endless loop delayed a permitted transaction's inclusion from 0.1 s to 26 s (calls
and the block builder shared asyncio's default pool), and a call ran until the 50M gas cap however long it took.
Every assertion here is about order or about the node's answer, never about how fast this machine is.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, sign, start_node

ENDLESS = "0x5b600056"  # init code: JUMPDEST PUSH1 0 JUMP, until the gas runs out
MEMORY_34M_GAS = "0x6000624000005200"  # PUSH1 0 PUSH3 0x400000 MSTORE STOP: ~34M gas of memory at once
TIMEOUT = 2


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    started = start_node(
        tmp_path_factory.mktemp("budgets") / "data",
        "--block-time",
        "0.1",
        "--rpc-evm-timeout",
        str(TIMEOUT),
        "--rpc-request-gas",
        "60000000",
        "--rpc-call-workers",
        "1",
        "--rpc-call-queue",
        "16",
        "--rpc-client-calls",
        "2",
    )
    yield started
    started.stop()


def _post_from(node: NodeProcess, source: str, payload: Any) -> Any:
    """A JSON-RPC request from ``source`` (127.0.0.x: loopback has the whole /8), so each is its own client."""
    connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=120, source_address=(source, 0))
    try:
        connection.request("POST", "/", json.dumps(payload), {"Content-Type": "application/json"})
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def _endless_call(gas: int = 50_000_000) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"data": ENDLESS, "gas": hex(gas)}, "latest"]}


def _metric(node: NodeProcess, name: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"{name} not in /metrics")


def _wait(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_an_endless_call_is_aborted_at_the_time_budget(node: NodeProcess) -> None:
    answer = _post_from(node, "127.0.0.1", _endless_call())
    assert answer["error"] == {"code": -32005, "message": f"execution aborted (timeout = {TIMEOUT}s)"}


def test_estimate_gas_runs_under_the_same_budget(node: NodeProcess) -> None:
    payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_estimateGas", "params": [{"data": ENDLESS}]}
    answer = _post_from(node, "127.0.0.1", payload)
    assert answer["error"]["code"] == -32005, answer


def test_the_calls_of_a_batch_share_one_gas_budget(node: NodeProcess) -> None:
    call = {"jsonrpc": "2.0", "method": "eth_call", "params": [{"data": MEMORY_34M_GAS, "gas": hex(40_000_000)}]}
    batch = [{**call, "id": i} for i in range(3)]
    answers = sorted(_post_from(node, "127.0.0.1", batch), key=lambda a: a["id"])
    # 34M + 34M: the second call starts within the budget and overruns it; the third is refused
    assert [a.get("result") for a in answers[:2]] == ["0x", "0x"], answers
    assert answers[2]["error"] == {
        "code": -32005,
        "message": "request gas budget exhausted: its calls may use 60000000 gas in all",
    }
    # the next request has a budget of its own
    assert _post_from(node, "127.0.0.1", batch[0]).get("result") == "0x"


def test_one_client_cannot_hold_more_than_its_share(node: NodeProcess) -> None:
    workers = [threading.Thread(target=_post_from, args=(node, "127.0.0.3", _endless_call())) for _ in range(2)]
    for worker in workers:
        worker.start()
    _wait(lambda: _metric(node, "reponet_rpc_calls_in_flight") >= 2, "the two calls never got in flight")
    refused = _metric(node, "reponet_rpc_calls_refused_total")
    third = _post_from(node, "127.0.0.3", _endless_call())
    assert third["error"] == {"code": -32005, "message": "too many concurrent calls from this client (at most 2)"}
    assert _metric(node, "reponet_rpc_calls_refused_total") == refused + 1
    assert _post_from(node, "127.0.0.4", {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})["result"] == "0x539"
    for worker in workers:
        worker.join(timeout=120)


def test_a_permitted_transaction_is_included_while_endless_calls_are_in_flight(node: NodeProcess) -> None:
    attackers = [
        threading.Thread(target=_post_from, args=(node, f"127.0.0.{10 + i}", _endless_call())) for i in range(10)
    ]
    for attacker in attackers:
        attacker.start()
    _wait(lambda: _metric(node, "reponet_rpc_calls_in_flight") >= 10, "the attack never got in flight")
    key = DEV_KEYS[1]
    nonce = int(node.call("eth_getTransactionCount", address_of(key), "pending"), 16)
    tx_hash = node.call("eth_sendRawTransaction", sign(key, nonce=nonce, to=address_of(DEV_KEYS[2]), gas=21_000))
    receipt = node.wait_receipt(tx_hash, timeout=60)
    # ten calls of 2 s on one worker take 20 s: the transaction got in while they still ran
    still_running = _metric(node, "reponet_rpc_calls_in_flight")
    assert receipt["status"] == "0x1"
    assert still_running >= 5, f"the transaction waited for the calls (only {still_running} left in flight)"
    for attacker in attackers:
        attacker.join(timeout=120)


def test_client_calls_do_not_stall_other_requests(node: NodeProcess) -> None:
    finished = threading.Event()

    def burn() -> None:
        _post_from(node, "127.0.0.5", _endless_call())
        finished.set()

    worker = threading.Thread(target=burn)
    worker.start()
    _wait(lambda: _metric(node, "reponet_rpc_calls_in_flight") >= 1, "the call never got in flight")
    assert node.call("eth_chainId") == "0x539"
    assert node.call("eth_getBalance", address_of(DEV_KEYS[0]), "latest").startswith("0x")
    assert not finished.is_set(), "the quick requests were answered only after the endless call"
    worker.join(timeout=120)
    with pytest.raises(RpcFailure):
        node.call("eth_call", {"data": ENDLESS, "gas": hex(50_000_000)})
