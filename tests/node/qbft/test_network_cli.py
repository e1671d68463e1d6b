"""`reponet-node init --validators`, `reponet-node network` (one command, stopped by SIGTERM) and
scripts/besu_genesis.py on what init wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from node import qbft_extra
from node.rpc.auth import ensure_private_key, issue_token
from scripts.harness.chains import Rpc
from scripts.harness.qbft_network import ROOT, free_port_block, wait_until

ENV = {**os.environ, "REPONET_NODE_PASSWORD": "cli-test-password"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
    )


def test_init_writes_a_network_and_besu_genesis_mirrors_it(tmp_path: Path) -> None:
    root = tmp_path / "net"
    done = run(
        "init",
        "--validators",
        "4",
        "--rpc-nodes",
        "1",
        "--data-dir",
        str(root),
        "--base-port",
        "31000",
        "--allow",
        "0x000000000000000000000000000000000000bEEF",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((root / "network.json").read_text())
    assert len(summary["validators"]) == 4 and len(summary["nodes"]) == 5
    genesis = json.loads((root / "genesis.json").read_text())
    extra = qbft_extra.decode(bytes.fromhex(genesis["extraData"][2:]))
    assert ["0x" + v.hex() for v in extra.validators] == summary["validators"]
    for i, node in enumerate(summary["nodes"]):
        node_dir = root / node["dir"]
        config = json.loads((node_dir / "network.json").read_text())
        assert config["p2p_port"] == 31100 + i
        assert node["enode"] not in config["static_peers"] and len(config["static_peers"]) == 4
        allow = tomllib.loads((node_dir / "permissions_config.toml").read_text())
        assert len(allow["nodes-allowlist"]) == 5
        assert "0x000000000000000000000000000000000000beef" in (node_dir / "allowlist.txt").read_text()
        assert oct((node_dir / "validator.keystore.json").stat().st_mode)[-3:] == "600"
    again = run("init", "--validators", "4", "--data-dir", str(root))
    assert again.returncode != 0 and "already" in again.stderr
    assert run("init", "--data-dir", str(tmp_path / "x")).returncode != 0  # neither --genesis nor --validators

    out = tmp_path / "besu"
    done = subprocess.run(
        [sys.executable, "scripts/besu_genesis.py", "--network", str(root), "--out", str(out), "--export-keys"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    besu = json.loads((out / "genesis.json").read_text())
    assert besu["extraData"] == genesis["extraData"] and besu["alloc"] == genesis["alloc"]
    assert besu["config"]["chainId"] == 1337 and besu["config"]["zeroBaseFee"] is True
    assert besu["config"]["qbft"]["blockperiodseconds"] >= 1
    assert len(json.loads((out / "static-nodes.json").read_text())) == 5
    for i, node in enumerate(summary["nodes"]):
        key = PrivateKey(bytes.fromhex((out / f"node{i}" / "key").read_text()[2:]))
        assert "0x" + key.public_key.to_canonical_address().hex() == node["address"]
        assert tomllib.loads((out / f"node{i}" / "besu.toml").read_text())["p2p-port"] == 31100 + i


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_network_command_runs_four_validators_and_stops_on_sigterm(tmp_path: Path) -> None:
    base = free_port_block(4)
    key_file = tmp_path / "rpc-jwt.pem"  # the operator's key: the test mints its token before the nodes start
    token = issue_token(
        ensure_private_key(key_file), subject="tests", permissions=["eth:*", "net:*", "qbft:*"], lifetime_seconds=3600
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node.cli",
            "network",
            "--validators",
            "4",
            "--data-dir",
            str(tmp_path / "net"),
            "--base-port",
            str(base),
            "--period",
            "0.25",
            "--allow",
            "0x000000000000000000000000000000000000bEEF",
            "--rpc-jwt-key",
            str(key_file),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    rpcs = [Rpc(f"http://127.0.0.1:{base + i}", timeout=5, token=token) for i in range(4)]
    try:
        for rpc in rpcs:
            wait_until(lambda rpc=rpc: rpc.call("net_peerCount") == "0x3", 60, "a full mesh of 4 validators")
        accounts = json.loads((tmp_path / "net" / "dev-accounts.json").read_text())
        sender = Account.from_key(accounts[0]["private_key"])
        tx = sender.sign_transaction(
            {
                "to": accounts[1]["address"],
                "value": 1,
                "gas": 21_000,
                "maxFeePerGas": 0,
                "maxPriorityFeePerGas": 0,
                "nonce": 0,
                "chainId": 1337,
                "type": 2,
            }
        )
        tx_hash = rpcs[2].call("eth_sendRawTransaction", "0x" + tx.raw_transaction.hex())
        wait_until(lambda: rpcs[0].call("eth_getTransactionReceipt", tx_hash) is not None, 30, "the receipt")
        assert len(rpcs[3].call("qbft_getValidatorsByBlockNumber", "latest")) == 4
        anonymous = Rpc(f"http://127.0.0.1:{base + 1}", timeout=5)
        refused = anonymous.raw({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
        anonymous.close()
        assert refused["error"]["code"] == -40100, "a network node requires a token by default"
    finally:
        for rpc in rpcs:
            rpc.close()
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output
    assert "network stopped" in output and "4 validators" in output
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "net")], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", "every node process is stopped"

    # Resumed with another --allow: every node's allowlist gains it (the node<i>.log files beside the node
    # directories are not mistaken for nodes).
    again = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node.cli",
            "network",
            "--validators",
            "4",
            "--data-dir",
            str(tmp_path / "net"),
            "--base-port",
            str(base),
            "--period",
            "0.25",
            "--allow",
            "0x000000000000000000000000000000000000CAFE",
            "--rpc-jwt-key",
            str(key_file),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    rpc0 = Rpc(f"http://127.0.0.1:{base}", timeout=5, token=token)
    try:
        wait_until(lambda: rpc0.call("net_peerCount") == "0x3", 60, "the resumed network")
    finally:
        rpc0.close()
        again.send_signal(signal.SIGTERM)
        output, _ = again.communicate(timeout=30)
    assert again.returncode == 0, output
    for i in range(4):
        allowed = (tmp_path / "net" / f"node{i}" / "allowlist.txt").read_text().lower()
        assert "0x000000000000000000000000000000000000cafe" in allowed and "beef" in allowed
