"""The reponet-node CLI: init/run from a geth-format genesis, and the documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.cli import ExitStatus
from scripts.harness.node_process import DEV_KEYS, address_of, free_port, sign, start_node

GENESIS = {
    "config": {"chainId": 4242, "pragueTime": 0, "qbft": {"blockperiodseconds": 1}},
    "gasLimit": "0x1c9c380",
    "timestamp": "0x0",
    "extraData": "0x",
    "alloc": {address_of(DEV_KEYS[0]): {"balance": "0x56bc75e2d63100000"}},
}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parents[3],
    )


def write(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


def test_init_then_run_with_env_password(tmp_path: Path) -> None:
    genesis = write(tmp_path / "genesis.json", json.dumps(GENESIS))
    key_file = write(tmp_path / "validator.key", "0x" + "07" * 32)
    password = write(tmp_path / "pw", "s3cret\n")
    data_dir = tmp_path / "data"
    result = run_cli(
        "init",
        "--data-dir",
        str(data_dir),
        "--genesis",
        str(genesis),
        "--validator-key",
        str(key_file),
        "--password-file",
        str(password),
    )
    assert result.returncode == ExitStatus.OK, result.stderr
    assert "chain id: 4242" in result.stdout
    keystore = json.loads((data_dir / "validator.keystore.json").read_text())
    assert "crypto" in keystore and "07" * 32 not in json.dumps(keystore)
    # allow the funded account on the local allowlist, then run with the password from the environment
    with (data_dir / "allowlist.txt").open("a") as handle:
        handle.write(address_of(DEV_KEYS[0]) + "\n")
    node = start_node(data_dir, "--block-time", "0.2", command="run", env={"REPONET_NODE_PASSWORD": "s3cret"})
    try:
        assert node.call("eth_chainId") == hex(4242)
        tx = sign(DEV_KEYS[0], nonce=0, to="0x" + "42" * 20, gas=21000, chainId=4242)
        assert node.wait_receipt(node.call("eth_sendRawTransaction", tx))["status"] == "0x1"
    finally:
        assert node.stop() == 0
    again = run_cli("init", "--data-dir", str(data_dir), "--genesis", str(genesis), "--password-file", str(password))
    assert again.returncode == ExitStatus.CONFIG
    assert "already initialized" in again.stderr


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"alloc": {}}),
        json.dumps({**GENESIS, "alloc": {"0x12": {"balance": "1"}}}),
        json.dumps({**GENESIS, "gasLimit": "lots"}),
    ],
)
def test_bad_genesis_exits_3(tmp_path: Path, content: str) -> None:
    genesis = write(tmp_path / "genesis.json", content)
    result = run_cli(
        "init", "--data-dir", str(tmp_path / "data"), "--genesis", str(genesis), env={"REPONET_NODE_PASSWORD": "x"}
    )
    assert result.returncode == ExitStatus.BAD_GENESIS
    assert result.stderr.startswith("reponet-node: error: bad genesis")
    assert "Traceback" not in result.stderr


def test_wrong_password_exits_4(tmp_path: Path) -> None:
    genesis = write(tmp_path / "genesis.json", json.dumps(GENESIS))
    data_dir = tmp_path / "data"
    assert (
        run_cli(
            "init", "--data-dir", str(data_dir), "--genesis", str(genesis), env={"REPONET_NODE_PASSWORD": "right"}
        ).returncode
        == 0
    )
    result = run_cli(
        "run", "--data-dir", str(data_dir), "--rpc-port", str(free_port()), env={"REPONET_NODE_PASSWORD": "wrong"}
    )
    assert result.returncode == ExitStatus.KEYSTORE
    assert "wrong keystore password" in result.stderr
    missing = run_cli("run", "--data-dir", str(data_dir), env={"REPONET_NODE_PASSWORD": ""} | {})
    assert missing.returncode == ExitStatus.KEYSTORE


def test_no_password_on_the_command_line(tmp_path: Path) -> None:
    result = run_cli("init", "--data-dir", str(tmp_path), "--genesis", "g.json", "--password", "x")
    assert result.returncode == ExitStatus.USAGE


def test_port_in_use_exits_5(tmp_path: Path) -> None:
    node = start_node(tmp_path / "a")
    try:
        result = run_cli("dev", "--data-dir", str(tmp_path / "b"), "--rpc-port", str(node.port))
        assert result.returncode == ExitStatus.PORT_IN_USE
        assert "in use" in result.stderr
    finally:
        node.stop()


def test_run_on_uninitialized_dir_exits_6(tmp_path: Path) -> None:
    result = run_cli("run", "--data-dir", str(tmp_path / "none"), env={"REPONET_NODE_PASSWORD": "x"})
    assert result.returncode == ExitStatus.CONFIG
    assert "not initialized" in result.stderr


def test_json_logs(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data", "--json-logs")
    try:
        node.call("eth_chainId")
    finally:
        node.stop()
    records = [json.loads(line) for line in node.output if line.startswith("{")]
    assert any(r["logger"] == "node.cli" and r["level"] == "info" for r in records)


def test_tls_listener(tmp_path: Path) -> None:
    import datetime
    import ssl
    import urllib.request

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file = write(tmp_path / "cert.pem", cert.public_bytes(serialization.Encoding.PEM).decode())
    key_file = write(
        tmp_path / "key.pem",
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
    node = start_node(tmp_path / "data", "--rpc-tls-cert", str(cert_file), "--rpc-tls-key", str(key_file))
    try:
        context = ssl.create_default_context(cafile=str(cert_file))
        request = urllib.request.Request(
            f"https://localhost:{node.port}",
            data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            assert json.loads(response.read())["result"] == "0x539"
        assert any(line.startswith("listening on https://") for line in node.output)
    finally:
        node.stop()
