"""``reponet up`` supervision: a crashed node or gateway is restarted and the network serves again; a child that
keeps crashing is reported and the rest stopped; a QBFT network of four validators comes up with every validator
peered and permissioning on every node; without a network, commands say so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.exit_status import ExitStatus
from tests.e2e.test_up_demo import REPONET, ROOT, UpProcess, _free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.3)


def _answers(url: str, **kwargs: Any) -> bool:
    try:
        httpx.request(kwargs.pop("method", "GET"), url, timeout=5, **kwargs)
    except httpx.HTTPError:
        return False
    return True


def test_crashed_children_are_restarted(tmp_path: Path) -> None:
    rpc_port, port = _free_port(), _free_port()
    up = UpProcess(tmp_path / "net", rpc_port, port, tmp_path / "up.log")
    rpc = f"http://127.0.0.1:{rpc_port}"
    try:
        up.wait_ready()
        first = up.children()
        os.killpg(first["node"], signal.SIGKILL)
        _wait_for(lambda: up.children().get("node", first["node"]) != first["node"], 60, "node restarted")
        _wait_for(lambda: _answers(rpc, method="POST", json={}), 60, "restarted node answers JSON-RPC")
        os.killpg(first["gateway"], signal.SIGKILL)
        _wait_for(lambda: up.children().get("gateway", first["gateway"]) != first["gateway"], 60, "gateway restarted")
        _wait_for(lambda: _answers(f"https://127.0.0.1:{port}/readyz", verify=False), 120, "gateway ready again")
        # the risk service runs beside the gateway and is restarted like it (its state file keeps its intents)
        assert "risk" in first, first
        os.killpg(first["risk"], signal.SIGKILL)
        _wait_for(lambda: up.children().get("risk", first["risk"]) != first["risk"], 60, "risk service restarted")
        assert (tmp_path / "net" / "risk" / "config.json").exists()
        assert up.proc.poll() is None, up.output()[-3000:]
        out = up.output()
        assert "node exited with status -9" in out and "gateway exited with status -9" in out
        assert "restarting it in" in out
        assert "reponet up: exited with status -9; restarting" in (tmp_path / "net" / "logs" / "node.log").read_text()
        assert up.interrupt() == 0
    finally:
        up.kill()


def test_a_node_that_keeps_crashing_is_reported_and_the_gateway_stopped(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "net", _free_port(), _free_port(), tmp_path / "up.log", ["--max-restarts", "0"])
    try:
        up.wait_ready()
        pids = up.children()
        os.killpg(pids["node"], signal.SIGKILL)
        assert up.proc.wait(timeout=60) == ExitStatus.CHILD_FAILED
        out = up.output()
        assert "node exited with status" in out and "not restarting it again" in out and "stopping the rest" in out
        assert "stopped match, surveillance, feed, risk, gateway" in out
        deadline = time.monotonic() + 10
        while _alive(pids["gateway"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(pids["gateway"])
    finally:
        up.kill()


def test_four_validators(tmp_path: Path) -> None:
    data_dir, rpc_port = tmp_path / "net", _free_block()
    handle = open(tmp_path / "up.log", "ab")
    proc = subprocess.Popen(
        [
            *REPONET,
            "up",
            "--data-dir",
            str(data_dir),
            "--rpc-port",
            str(rpc_port),
            "--port",
            str(_free_port()),
            "--validators",
            "4",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    up = UpProcess.__new__(UpProcess)
    up.data_dir, up.log, up.proc, up._handle = data_dir, tmp_path / "up.log", proc, handle
    try:
        up.wait_ready()
        assert "QBFT network of 4 validators started" in up.output()
        assert "every node asks AccountRules" in up.output()
        status = subprocess.run(
            [*REPONET, "--json", "status", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert status.returncode == 0, status.stdout
        report = json.loads(status.stdout)
        assert report["chain"]["peers"] == 3
        rules = json.loads((data_dir / "state.json").read_text())["contracts"]["account_rules"]
        assert report["chain"]["permissioning"].lower() == rules.lower()
        assert up.interrupt() == 0
        assert "stopped match, surveillance, feed, risk, gateway, network" in up.output()
    finally:
        up.kill()


def _free_block() -> int:
    """A base port with the 4 JSON-RPC ports from it and the 4 peer ports 100 above it all free."""
    import random

    for base in random.sample(range(20000, 30000), 200):
        if all(_port_is_free(p) for p in [*range(base, base + 4), *range(base + 100, base + 104)]):
            return base
    pytest.skip("no free block of ports for a 4-validator network")


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_commands_without_a_network_say_so(tmp_path: Path) -> None:
    for command in (["status"], ["kyc", "list"], ["bond", "list"], ["demo"]):
        result = subprocess.run(
            [*REPONET, *command, "--data-dir", str(tmp_path / "none")],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert result.returncode == ExitStatus.CONFIG, (command, result.stdout, result.stderr)
        assert "reponet up" in result.stdout + result.stderr
