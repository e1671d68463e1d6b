"""JSON-RPC authentication and method permissions (node.rpc.auth), against real node processes.

Before, every client that reached the port read everything (``txpool_content``, traces, any repo's calls) and the
only control was a shared secret for three operator methods, honoured from loopback alone.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from scripts.harness.node_process import DEV_KEYS, NodeProcess, address_of, start_node
from tests.node.unit.test_cli import GENESIS, run_cli, write

ROOT = Path(__file__).resolve().parents[3]
UNAUTHORIZED = -40100


def issue(node: NodeProcess, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "node.cli", "token", "issue", "--data-dir", str(node.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def answer(node: NodeProcess, method: str, token: str | None, *params: object) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {"Authorization": ""}
    return dict(node.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, headers=headers))


def error_code(response: dict[str, object]) -> object:
    error = response.get("error")
    return error.get("code") if isinstance(error, dict) else None


@pytest.fixture(scope="module")
def run_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """``reponet-node run``: authentication on by default."""
    tmp = tmp_path_factory.mktemp("auth")
    genesis = write(tmp / "genesis.json", json.dumps(GENESIS))
    password = write(tmp / "pw", "s3cret\n")
    data_dir = tmp / "data"
    result = run_cli("init", "--data-dir", str(data_dir), "--genesis", str(genesis), "--password-file", str(password))
    assert result.returncode == 0, result.stderr
    node = start_node(data_dir, "--block-time", "0.2", command="run", env={"REPONET_NODE_PASSWORD": "s3cret"})
    node.token = None  # every test here says which token it sends
    yield node
    node.stop()


def test_no_token_is_refused_with_401(run_node: NodeProcess) -> None:
    response = answer(run_node, "eth_chainId", None)
    assert response["error"] == {"code": UNAUTHORIZED, "message": "Unauthorized: a bearer token is required"}


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-jwt",
        jwt.encode({"sub": "x", "exp": int(time.time()) + 60, "permissions": ["*:*"]}, "k" * 32, algorithm="HS256"),
        jwt.encode(
            {"sub": "x", "exp": int(time.time()) + 60, "permissions": ["*:*"]},
            ec.generate_private_key(ec.SECP256R1()),
            algorithm="ES256",
        ),
        jwt.encode({"sub": "x", "exp": int(time.time()) + 60, "permissions": ["*:*"]}, None, algorithm="none"),
    ],
    ids=["garbage", "hmac-with-a-guessed-secret", "another-key", "alg-none"],
)
def test_forged_tokens_are_refused(run_node: NodeProcess, bad: str) -> None:
    response = answer(run_node, "eth_chainId", bad)
    assert error_code(response) == UNAUTHORIZED, response


def test_an_expired_token_is_refused(run_node: NodeProcess) -> None:
    key = run_node.data_dir / "rpc-jwt.pem"
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    expired = jwt.encode(
        {"sub": "bank-a", "exp": int(time.time()) - 60, "permissions": ["eth:*"]}, private, algorithm="ES256"
    )
    assert error_code(answer(run_node, "eth_chainId", expired)) == UNAUTHORIZED


def test_a_member_token_reads_and_sends_but_never_administers(run_node: NodeProcess) -> None:
    member = issue(run_node, "--subject", "bank-a", "--methods", "eth,net,web3", "--expires", "1h")
    assert answer(run_node, "eth_chainId", member)["result"] == hex(4242)
    assert answer(run_node, "eth_getBalance", member, address_of(DEV_KEYS[0]), "latest")["result"].startswith("0x")
    for method, params in [
        ("txpool_content", []),
        ("txpool_status", []),
        ("debug_traceTransaction", ["0x" + "00" * 32]),
        ("reponet_setAccountRules", ["0x" + "11" * 20]),
        ("reponet_permissioning", []),
    ]:
        response = answer(run_node, method, member, *params)
        assert response["error"] == {
            "code": UNAUTHORIZED,
            "message": f"Unauthorized: {method} is not permitted",
        }, (method, response)


def test_permissions_name_single_methods(run_node: NodeProcess) -> None:
    narrow = issue(run_node, "--subject", "monitor", "--methods", "net:peerCount,eth:blockNumber", "--expires", "1h")
    assert answer(run_node, "eth_blockNumber", narrow)["result"].startswith("0x")
    assert error_code(answer(run_node, "eth_chainId", narrow)) == UNAUTHORIZED
    batch = run_node.post(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": [address_of(DEV_KEYS[0])]},
        ],
        headers={"Authorization": f"Bearer {narrow}"},
    )
    assert "result" in batch[0] and batch[1]["error"]["code"] == UNAUTHORIZED


def test_the_operator_token_administers(run_node: NodeProcess) -> None:
    operator = run_node.operator_token()
    assert (run_node.data_dir / "admin.token").stat().st_mode & 0o077 == 0
    assert (run_node.data_dir / "rpc-jwt.pem").stat().st_mode & 0o077 == 0
    assert "accountRules" in answer(run_node, "reponet_permissioning", operator)["result"]
    assert answer(run_node, "txpool_status", operator)["result"] == {"pending": "0x0", "queued": "0x0"}


def test_websocket_needs_a_token_at_the_upgrade(run_node: NodeProcess) -> None:
    url = f"ws://127.0.0.1:{run_node.port}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10)
    assert refused.value.response.status_code == 401
    member = issue(run_node, "--subject", "bank-a", "--expires", "1h")
    for ws in (
        connect(url, open_timeout=10, additional_headers={"Authorization": f"Bearer {member}"}),
        connect(f"{url}/?token={member}", open_timeout=10),
    ):
        with ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
            assert json.loads(ws.recv(timeout=10))["result"] == hex(4242)
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "txpool_content"}))
            assert json.loads(ws.recv(timeout=10))["error"]["code"] == UNAUTHORIZED


def test_a_websocket_session_ends_with_its_token(run_node: NodeProcess) -> None:
    short = issue(run_node, "--subject", "bank-a", "--expires", "1s")
    with connect(f"ws://127.0.0.1:{run_node.port}/?token={short}", open_timeout=10) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
        assert json.loads(ws.recv(timeout=10))["result"].startswith("0x")
        deadline = time.monotonic() + 60
        with pytest.raises(ConnectionClosed):  # headers stream until the token (1 s + 5 s leeway) runs out
            while time.monotonic() < deadline:
                ws.recv(timeout=60)
        assert time.monotonic() < deadline


def test_dev_mode_leaves_reads_open_but_not_administration(dev_node: NodeProcess) -> None:
    assert answer(dev_node, "eth_chainId", None)["result"] == "0x539"
    assert "result" in answer(dev_node, "txpool_status", None)
    response = answer(dev_node, "reponet_setAccountRules", None, "0x" + "11" * 20)
    assert response["error"] == {
        "code": UNAUTHORIZED,
        "message": "Unauthorized: reponet_setAccountRules is not permitted without a token",
    }
    result = answer(dev_node, "reponet_permissioning", dev_node.operator_token())["result"]
    assert "accountRules" in result


def test_token_command_errors(tmp_path: Path) -> None:
    missing = run_cli("token", "issue", "--data-dir", str(tmp_path), "--subject", "x")
    assert missing.returncode == 6 and "no token key" in missing.stderr


def test_the_token_is_checked_before_the_body_is_read(run_node: NodeProcess) -> None:
    """Before, the node read and parsed the whole body (up to the body cap) before looking at the token."""
    with socket.create_connection(("127.0.0.1", run_node.port), timeout=15) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
        )
        status = sock.recv(4096).split(b"\r\n", 1)[0]  # answered with no byte of the body sent
    assert status == b"HTTP/1.1 401 Unauthorized"


def test_metrics_need_an_operator_token(run_node: NodeProcess) -> None:
    def status(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(f"{run_node.url}/metrics", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert status(None) == 401
    assert status(issue(run_node, "--subject", "member", "--methods", "eth", "--expires", "1h")) == 403
    assert status(run_node.operator_token()) == 200


def test_metrics_count_calls_by_token_subject_and_method(run_node: NodeProcess) -> None:
    member = issue(run_node, "--subject", "counted-member", "--methods", "eth", "--expires", "1h")
    for _ in range(3):
        assert "result" in answer(run_node, "eth_chainId", member)  # one verification, three calls
    request = urllib.request.Request(
        f"{run_node.url}/metrics", headers={"Authorization": f"Bearer {run_node.operator_token()}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    assert 'reponet_rpc_calls_total{client="counted-member",method="eth_chainId"} 3' in text.splitlines()
