"""JSON-RPC error behaviour of a running node: codes and messages as execution-apis and geth give them."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request

import pytest
from eth_abi.abi import encode

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, calldata, deploy
from tests.node.unit.contracts import TOKEN_BYTECODE


def test_bad_json_is_parse_error(dev_node: NodeProcess) -> None:
    response = dev_node.post(None, raw=b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert response["error"]["code"] == -32700
    assert response["id"] is None


def test_unknown_method(dev_node: NodeProcess) -> None:
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_doesNotExist")
    assert failure.value.code == -32601
    assert failure.value.error["message"] == "the method eth_doesNotExist does not exist/is not available"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBalance", ["0x1234", "latest"]),
        ("eth_getBalance", ["0x" + "11" * 20, "nonsense"]),
        ("eth_getBalance", []),
        ("eth_blockNumber", [1]),
        ("eth_getTransactionReceipt", ["0x12"]),
        ("eth_sendRawTransaction", ["0xzz"]),
        ("eth_sendRawTransaction", ["0xdeadbeef"]),
        ("eth_call", ["not an object"]),
        ("eth_getLogs", [{"topics": [[1, 2]]}]),
        ("eth_getBlockByNumber", ["latest", "yes"]),
    ],
)
def test_bad_params(dev_node: NodeProcess, method: str, params: list[object]) -> None:
    with pytest.raises(RpcFailure) as failure:
        dev_node.call(method, *params)
    assert failure.value.code == -32602, failure.value.error


def test_invalid_request_objects(dev_node: NodeProcess) -> None:
    assert dev_node.post({"jsonrpc": "2.0", "id": 1})["error"]["code"] == -32600
    assert dev_node.post(42)["error"]["code"] == -32600
    assert dev_node.post([])["error"]["code"] == -32600
    params_object = dev_node.post({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": {"a": 1}})
    assert params_object["error"]["code"] == -32602


def test_batch_answers_each_call_in_order(dev_node: NodeProcess) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        {"jsonrpc": "2.0", "method": "eth_chainId"},  # a notification gets no answer
        {"jsonrpc": "2.0", "id": "x", "method": "net_version"},
    ]
    responses = dev_node.post(batch)
    assert [r["id"] for r in responses] == [1, 2, "x"]
    assert responses[0]["result"] == "0x539"
    assert responses[1]["error"]["code"] == -32601
    assert responses[2]["result"] == "1337"


def test_batch_limit(dev_node: NodeProcess) -> None:
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(51)]
    response = dev_node.post(batch)
    assert isinstance(response, dict)
    assert response["error"]["code"] == -32005


def test_oversized_body_is_refused_and_node_survives(dev_node: NodeProcess) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": ["x" * 400_000]}).encode()
    with pytest.raises(urllib.error.HTTPError) as failure:
        dev_node.post(None, raw=body)
    assert failure.value.code == 413
    assert dev_node.call("eth_chainId") == "0x539"


def test_revert_is_code_3_with_data(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[0]
    token = deploy(dev_node, key, TOKEN_BYTECODE, encode(["uint256"], [1000]))
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_call", {"to": token, "data": calldata("fail(string)", ["string"], ["no way"])})
    assert failure.value.code == 3
    assert failure.value.error["message"] == "execution reverted: no way"
    assert failure.value.error["data"].startswith("0x08c379a0")

    # a custom error: data is the ABI-encoded error, message without a reason
    transfer = calldata("transfer(address,uint256)", ["address", "uint256"], [address_of(DEV_KEYS[1]), 10**9])
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_call", {"from": address_of(key), "to": token, "data": transfer})
    assert failure.value.code == 3
    assert failure.value.error["message"] == "execution reverted"
    expected = calldata("Insufficient(uint256,uint256)", ["uint256", "uint256"], [1000, 10**9])
    assert failure.value.error["data"] == expected

    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_estimateGas", {"from": address_of(key), "to": token, "data": transfer})
    assert failure.value.code == 3


def test_log_range_limit(dev_node: NodeProcess) -> None:
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x1000"})
    assert failure.value.code == -32005
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_getLogs", {"fromBlock": "0x5", "toBlock": "0x1"})
    assert failure.value.code == -32000


def test_unknown_block_for_state_is_header_not_found(dev_node: NodeProcess) -> None:
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_getBalance", address_of(DEV_KEYS[0]), "0xffffff")
    assert failure.value.error == {"code": -32000, "message": "header not found"}
    assert dev_node.call("eth_getBlockByNumber", "0xffffff", False) is None


def test_garbage_never_kills_the_node(dev_node: NodeProcess) -> None:
    for raw in [b"", b"[", b"\xff\xfe", b"null", b"[1,2,3]", b'{"method": 5}', b"[" * 10000]:
        request = urllib.request.Request(dev_node.url, data=raw, headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10).read()
        except urllib.error.HTTPError:
            pass
    assert dev_node.call("eth_chainId") == "0x539"


def test_random_params_to_every_method_never_give_internal_errors(dev_node: NodeProcess) -> None:
    from node.rpc.methods import Methods

    names = [getattr(Methods, m).rpc_name for m in dir(Methods) if hasattr(getattr(Methods, m), "rpc_name")]
    values: list[object] = [
        None,
        0,
        -1,
        1.5,
        True,
        "",
        "0x",
        "0x0",
        "0x00",
        "0xzz",
        "latest",
        "pending",
        "earliest",
        "safe",
        "0x" + "ff" * 32,
        "0x" + "11" * 20,
        [],
        [None],
        [[]],
        {},
        {"to": "0x" + "11" * 20},
        {"from": 5},
        {"blockHash": "0x" + "00" * 32},
        {"fromBlock": "0x10", "toBlock": "0x1"},
        {"address": ["0x" + "11" * 20, 7]},
        {"topics": [None, ["0x" + "00" * 32, None]]},
        "0x" + "1" * 20000,
        2**300,
        {"tracer": "callTracer"},
        {"gas": "0xffffffffffffffffffffffff"},
        {"data": "0x12", "input": "0x34"},
        {"accessList": [{"address": 1}]},
    ]
    rng = random.Random(20261122)
    for _ in range(1500):
        method = rng.choice(names)
        params = [rng.choice(values) for _ in range(rng.randint(0, 3))]
        response = dev_node.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        assert response.get("error", {}).get("code") != -32603, (method, params, response)
    assert dev_node.call("eth_chainId") == "0x539"


def test_websocket_origin_is_checked(dev_node: NodeProcess) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{dev_node.port}", origin="https://evil.example", open_timeout=5)  # type: ignore[arg-type]
    with connect(f"ws://127.0.0.1:{dev_node.port}", open_timeout=5) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
        assert json.loads(ws.recv(timeout=5))["result"] == "0x539"


def test_metrics_endpoint(dev_node: NodeProcess) -> None:
    text = urllib.request.urlopen(dev_node.url + "/metrics", timeout=5).read().decode()
    assert "reponet_head_block " in text
