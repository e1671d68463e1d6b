"""Fuzzing what faces the network: thousands of malformed, deep, huge and type-confused JSON-RPC requests to every
method, over HTTP and WebSocket, against a dev node (no authentication) and a ``run`` node with a member's token.

Every request must get a JSON-RPC answer (an error or a result, never an internal error, a dropped connection or
a dead process), and the node must keep producing blocks. Hypothesis runs derandomized (a fixed seed) in CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from node.rpc.methods import Methods
from scripts.harness.node_process import NodeProcess, start_node
from tests.node.unit.test_cli import GENESIS, run_cli, write

ROOT = Path(__file__).resolve().parents[2]
METHODS = sorted(getattr(Methods, m).rpc_name for m in dir(Methods) if hasattr(getattr(Methods, m), "rpc_name"))
FUZZ = settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

# JSON values a client might send, biased toward what the parsers look at: hex of every length, block tags,
# addresses and hashes, huge and negative numbers, nested call objects
HEXES = st.one_of(
    st.binary(max_size=40).map(lambda b: "0x" + b.hex()),
    st.sampled_from(["0x", "0x0", "0x00", "0xzz", "0X1", "0x" + "f" * 65, "0x-1", "latest", "pending", "earliest"]),
    st.sampled_from(["safe", "finalized", "0x" + "11" * 20, "0x" + "ab" * 32, "0x" + "1" * 20_000]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    HEXES,
)
KEYS = st.sampled_from(
    [
        *("to", "from", "data", "input", "gas", "value", "nonce", "fromBlock", "toBlock", "address", "topics"),
        *("blockHash", "accessList", "storageKeys", "tracer", "gasPrice", "maxFeePerGas", "blockNumber", "x"),
    ]
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=6)),
    max_leaves=20,
)
REQUESTS = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0", None]), "method": st.sampled_from(METHODS)},
    optional={
        "id": st.one_of(st.integers(min_value=-(2**40), max_value=2**40), st.text(max_size=10), st.none()),
        "params": st.one_of(st.lists(JSON, max_size=4), JSON),
    },
)
RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    REQUESTS.map(lambda r: json.dumps(r).encode()).flatmap(
        lambda body: st.integers(min_value=0, max_value=len(body)).map(lambda cut: body[:cut])  # truncated
    ),
    st.integers(min_value=1, max_value=200_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=200_000).map(lambda depth: b'{"a":' * depth + b"0" + b"}" * depth),
    st.integers(min_value=0, max_value=400_000).map(lambda n: b'{"jsonrpc":"2.0","id":"' + b"x" * n + b'"}'),
)


def _is_answer(item: Any) -> bool:
    """A JSON-RPC response object: a result or an error with an integer code that is not an internal error."""
    if not isinstance(item, dict) or item.get("jsonrpc") != "2.0":
        return False
    if "result" in item:
        return "error" not in item
    error = item.get("error")
    return isinstance(error, dict) and isinstance(error.get("code"), int) and error["code"] != -32603


def _post(node: NodeProcess, body: bytes, token: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(node.url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        assert error.code in (401, 413), error.code  # unauthenticated, or over the body limit
        text = error.read()
        if error.code == 413:
            return None
    return json.loads(text) if text else None


def _check(answer: Any, body: bytes) -> None:
    if answer is None:
        return  # notifications only, or a body over the limit
    items = answer if isinstance(answer, list) else [answer]
    assert items and all(_is_answer(i) for i in items), (body[:300], answer)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = start_node(
        tmp_path_factory.mktemp("fuzz-dev") / "data",
        "--block-time",
        "0.2",
        "--empty-blocks",
        "--rpc-max-body",
        "2000000",
    )
    yield node
    node.stop()


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, str]]:
    """A ``run`` node (authentication on) and a member's token for it."""
    tmp = tmp_path_factory.mktemp("fuzz-run")
    genesis = write(tmp / "genesis.json", json.dumps(GENESIS))
    password = write(tmp / "pw", "fuzz\n")
    result = run_cli(
        "init", "--data-dir", str(tmp / "data"), "--genesis", str(genesis), "--password-file", str(password)
    )
    assert result.returncode == 0, result.stderr
    node = start_node(
        tmp / "data", "--block-time", "0.2", "--empty-blocks", command="run", env={"REPONET_NODE_PASSWORD": "fuzz"}
    )
    node.token = None
    issued = subprocess.run(
        [sys.executable, "-m", "node.cli", "token", "issue", "--data-dir", str(tmp / "data"), "--subject", "fuzzer"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert issued.returncode == 0, issued.stderr
    yield node, issued.stdout.strip()
    node.stop()


def _head(node: NodeProcess, token: str | None = None) -> int:
    answer = _post(node, b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}', token)
    return int(answer["result"], 16)


def _keeps_producing(node: NodeProcess, token: str | None = None) -> None:
    assert node.proc.poll() is None, "the node died"
    before = _head(node, token)
    deadline = time.monotonic() + 60
    while _head(node, token) < before + 2:
        assert time.monotonic() < deadline, "no blocks after the fuzzing"
        time.sleep(0.05)


@FUZZ
@given(request=REQUESTS)
def test_http_requests_to_every_method(dev: NodeProcess, request: dict[str, Any]) -> None:
    body = json.dumps(request).encode()
    _check(_post(dev, body, None), body)


@FUZZ
@given(batch=st.lists(REQUESTS, min_size=1, max_size=8))
def test_http_batches(dev: NodeProcess, batch: list[dict[str, Any]]) -> None:
    body = json.dumps(batch).encode()
    _check(_post(dev, body, None), body)


@settings(FUZZ, max_examples=300)
@given(body=RAW_BODIES)
def test_http_raw_bodies(dev: NodeProcess, body: bytes) -> None:
    _check(_post(dev, body, None), body)


@settings(FUZZ, max_examples=400)
@given(request=REQUESTS)
def test_http_with_a_member_token(member: tuple[NodeProcess, str], request: dict[str, Any]) -> None:
    node, token = member
    body = json.dumps(request).encode()
    _check(_post(node, body, token), body)


@pytest.fixture(scope="module")
def ws(dev: NodeProcess) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{dev.port}", open_timeout=10, max_size=None) as connection:
        yield connection


@settings(FUZZ, max_examples=500)
@given(body=st.one_of(REQUESTS.map(json.dumps), RAW_BODIES.filter(lambda b: len(b) < 300_000)))
def test_websocket_messages(ws: ClientConnection, body: str | bytes) -> None:
    """Each message gets at most one answer; a marker request after it proves the connection still serves."""
    ws.send(body)
    ws.send(json.dumps({"jsonrpc": "2.0", "id": "marker", "method": "eth_chainId"}))
    while True:
        answer = json.loads(ws.recv(timeout=60))
        if isinstance(answer, dict) and answer.get("method") == "eth_subscription":
            continue  # a fuzzed eth_subscribe may have succeeded
        if isinstance(answer, dict) and answer.get("id") == "marker":
            assert answer["result"] == "0x539"
            return
        items = answer if isinstance(answer, list) else [answer]
        assert all(_is_answer(i) for i in items), (body[:300] if body else body, answer)


def test_nodes_still_produce_blocks_after_the_fuzzing(
    dev: NodeProcess, member: tuple[NodeProcess, str], ws: ClientConnection
) -> None:
    _keeps_producing(dev)
    node, token = member
    _keeps_producing(node, token)
