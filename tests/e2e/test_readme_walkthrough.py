"""The README's walkthrough, run as written against a fresh ``reponet up``: the block between
``<!-- walkthrough:start -->`` and ``<!-- walkthrough:end -->`` goes to bash with the gateway's address, its CA and
the admin's one-time password and TOTP secret as ``up`` printed them. A step whose call fails (``curl -f``) or whose
answer lacks the field the next step reads stops the script: the README cannot drift from the API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_up_demo import ROOT, UpProcess, _free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
WALKTHROUGH_SECONDS = 180


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- walkthrough:start -->\n```bash\n(.*?)```\n<!-- walkthrough:end -->", text, re.S)
    assert found, "README.md has no walkthrough block"
    return found.group(1)


def test_the_readme_block_is_found_and_needs_the_secrets() -> None:
    script = walkthrough()
    assert "enroll/confirm" in script and "/v1/network" in script and "min_block" in script
    run = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, env={"PATH": os.environ["PATH"]}
    )
    assert run.returncode != 0 and "one-time password" in run.stderr  # without up's secrets it stops at once


def test_readme_walkthrough_from_a_fresh_up(tmp_path: Path) -> None:
    data_dir, rpc_port, port = tmp_path / "reponet", _free_port(), _free_port()
    up = UpProcess(data_dir, rpc_port, port, tmp_path / "up.log")
    try:
        up.wait_ready()
        printed = up.output()
        password = re.search(r"One-time password: (\S+)", printed)
        secret = re.search(r"TOTP secret: (\S+)", printed)
        assert password and secret, printed[-2000:]
        env = {
            "PATH": os.environ["PATH"],
            "GW": f"https://127.0.0.1:{port}",
            "CA": str(data_dir / "gateway" / "tls" / "tls-cert.pem"),
            "PY": sys.executable,
            "PASSWORD": password.group(1),
            "SECRET": secret.group(1),
        }
        run = subprocess.run(
            ["bash", "-c", walkthrough()],
            capture_output=True,
            text=True,
            timeout=WALKTHROUGH_SECONDS,
            cwd=ROOT,
            env=env,
        )
        assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}\nup:\n{up.output()[-3000:]}"
        lines = run.stdout.strip().splitlines()
        assert lines[0] == "operator_admin", lines
        assert any(line.startswith("settlement contract 0x") for line in lines), lines
        assert int(lines[-1]) >= 0, lines  # the block positions reflect: at least the price's block
    finally:
        up.kill()
