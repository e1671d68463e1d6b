"""ethers.js v6, unmodified, against a running node: drives tests/node/js/ethers_smoke.mjs with Node.js."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from scripts.harness.chains import FIXTURES, ROOT, Backend

SCRIPT = Path(__file__).resolve().parent / "js" / "ethers_smoke.mjs"


def test_ethers_deploy_call_send_and_websocket_events(any_backend: Backend) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the ethers.js client test (scripts/setup installs the npm toolchain)"
    assert (ROOT / "node_modules" / "ethers").is_dir(), "ethers is missing: run scripts/setup"
    account = any_backend.accounts[2 % len(any_backend.accounts)]
    completed = subprocess.run(
        [
            node,
            str(SCRIPT),
            "--http",
            any_backend.http_url,
            "--ws",
            any_backend.ws_url,
            "--key",
            account.key.hex() if account.key.hex().startswith("0x") else "0x" + account.key.hex(),
            "--artifacts",
            str(FIXTURES / "contracts.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    lines = completed.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{completed.stderr}\nnode log:\n{any_backend.log_tail()}"
    result = json.loads(lines[-1])
    assert completed.returncode == 0 and result["ok"] is True, (
        f"{result.get('error')}\nstderr:\n{completed.stderr}\nnode log:\n{any_backend.log_tail()}"
    )
    assert result["steps"] == ["network", "deploy", "call", "revert", "send", "events", "ws-send", "logs"]
    assert result["payeeBalance"] == "3"
    # ethers caches answers for 250 ms: a block sealed within 250 ms of wait()'s first receipt check, with
    # no later block, left wait() hanging on our node (found here); the node now seals one trailing empty
    # block after a block with transactions, so wait() over WebSocket must resolve.
    assert result["wsWaitStalled"] is False, f"ethers tx.wait() over WebSocket stalled ({result['wsWaitMs']} ms)"
    if any_backend.profile.zero_base_fee:
        assert result["gasPrice"] == "0"
    assert result["chainId"] == any_backend.chain_id
    assert result["supply"] == str(10**24)
    assert result["revertName"] == "TestTokenInsufficientBalance"
    assert result["event"]["txHash"] == result["transferHash"]
    assert result["event"]["from"] == account.address
    assert result["wsBlock"] > result["startBlock"]
