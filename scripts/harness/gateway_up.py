"""``reponet up`` of a checkout as a child process and its two benchmark members, shared by the gateway benchmarks
(``scripts/bench_gateway.py``, ``scripts/bench_settlement.py``): start and stop it, the CPU of its processes from
/proc, and onboarding through the checkout's own code (``scripts/bench_members.py``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench_load import Target
from scripts.harness import cpu

UP_SECONDS = 240
# The benchmark's one user makes thousands of requests a minute: the per-principal and per-address limits are
# raised for it (``reponet up`` passes REPONET_* settings through to the gateway), and tokens outlive the run.
GATEWAY_ENV = {
    "REPONET_RATE_LIMIT_IP": "100000000/minute",
    "REPONET_RATE_LIMIT_PRINCIPAL": "100000000/minute",
    "REPONET_RATE_LIMIT_LOGIN": "100000/minute",  # onboarding signs in from one address; several workers share it
    "REPONET_ACCESS_TOKEN_SECONDS": "7200",
    "REPONET_STEP_UP_SECONDS": "7200",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_rpc_ports(count: int = 4) -> int:
    """A base port with the next ``count`` - 1 ports and their peer ports (base + 100 + i) free too: ``reponet up
    --validators N`` serves JSON-RPC on the base port and the next N - 1, and peers 100 above them."""
    for _ in range(100):
        base = free_port()
        if base + 100 + count < 65_536 and all(_free(p) for i in range(count) for p in (base + i, base + 100 + i)):
            return base
    raise RuntimeError("no free block of ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def python_of(checkout: Path) -> Path:
    """The checkout's own interpreter (its ``.venv``), else this one."""
    python = checkout / ".venv" / "bin" / "python"
    return python if python.exists() else Path(sys.executable)


class Network:
    """``reponet up`` of a checkout as a child process, in its own data directory, until ``stop``."""

    def __init__(
        self, checkout: Path, data_dir: Path, workers: int | None = 1, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.data_dir = data_dir
        self.log = open(data_dir.parent / f"{data_dir.name}-up.log", "w+")
        command = [str(python_of(checkout)), "-m", "gateway.cli", "up"]
        self.rpc_port = free_rpc_ports()
        command += ["--data-dir", str(data_dir), "--rpc-port", str(self.rpc_port), "--port", str(free_port())]
        command += list(extra_args)
        self.process = subprocess.Popen(
            command,
            cwd=checkout,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **GATEWAY_ENV, **({} if workers is None else {"REPONET_API_WORKERS": str(workers)})}
            | {"PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        deadline = time.monotonic() + UP_SECONDS
        while "RepoNet is up." not in Path(self.log.name).read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"reponet up did not come up:\n{Path(self.log.name).read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()

    def groups(self) -> dict[str, list[int]]:
        """The gateway's processes (uvicorn and any workers it forks) and the node's, found under ``up``."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))

        def tree(pid: int) -> list[int]:
            return [pid] + [d for c in children.get(pid, []) for d in tree(c)]

        out: dict[str, list[int]] = {"gateway": [], "node": []}
        for child in children.get(self.process.pid, []):
            try:
                cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            out["gateway" if "gateway.cli gateway" in cmdline else "node"].extend(tree(child))
        return out

    def processes(self) -> dict[str, list[int]]:
        """The processes under ``up`` by name: ``up`` itself, ``gateway`` (uvicorn and any workers it forks), and
        ``node``, or on a local network ``network`` (its supervisor) and ``node0``..``nodeN`` (by data directory),
        and the services ``up`` starts beside them by their command (``risk``, ``risk-feed``, ``surveillance``)."""
        groups = self.groups()
        out: dict[str, list[int]] = {"up": [self.process.pid], "gateway": groups["gateway"]}
        for pid in groups["node"]:
            try:
                words = [
                    w.decode(errors="replace") for w in (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
                ]
            except OSError:
                continue
            name = "node"
            if "gateway.cli" in words and words.index("gateway.cli") + 1 < len(words):
                name = _service_name(words[words.index("gateway.cli") + 1 :])  # risk, surveillance, ... under up
            elif "network" in words:
                name = "network"
            elif "--data-dir" in words and words.index("--data-dir") + 1 < len(words):
                directory = Path(words[words.index("--data-dir") + 1]).name
                name = directory if directory.startswith("node") and directory[4:].isdigit() else "node"
            out.setdefault(name, []).append(pid)
        return out

    def cpu_by_process(self) -> dict[str, float]:
        """User plus system CPU seconds of each of :meth:`processes` (children reaped included)."""
        return {name: cpu.cpu_seconds(pids, children=True) for name, pids in self.processes().items()}

    def rpc_calls(self) -> dict[str, int]:
        """JSON-RPC calls the node has served, by ``client:method`` (its ``reponet_rpc_calls_total``, read with the
        operator token; the client is the token's subject: ``gateway``, or the risk and surveillance services');
        empty where the node does not count them (older trees) or cannot be read."""
        token_file = self.data_dir / "node" / "admin.token"
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.rpc_port}/metrics",
                headers={"Authorization": f"Bearer {token_file.read_text().strip()}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
        except (OSError, ValueError):
            return {}
        out: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith("reponet_rpc_calls_total{"):
                labels, _, value = line.rpartition(" ")
                named = dict(part.split("=", 1) for part in labels[labels.index("{") + 1 : -1].split(","))
                key = ":".join(json.loads(named[k]) for k in ("client", "method") if k in named)
                out[key] = out.get(key, 0) + int(value)
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """User plus system CPU of each group (Linux /proc), children reaped included."""
        return {name: cpu.cpu_seconds(pids, children=True) for name, pids in self.groups().items()}


def _service_name(words: list[str]) -> str:
    """``risk``, ``risk-feed``, ``surveillance``: the command and any sub-command before the first option."""
    command, *sub = [w for w in words[:2] if w and not w.startswith("-")] or ["?"]
    return f"{command}-{sub[0]}" if sub and sub[0] != "run" else command


def loadavg() -> float:
    """The machine's 1-minute load average when a figure was taken: the cores are shared, and a figure reads
    differently at load 2 than at load 7."""
    return round(os.getloadavg()[0], 2)


@dataclass
class Members:
    """Two members onboarded by the checkout's own code (``bench_members.py`` under its ``.venv``): bearer headers,
    open terms in its spelling, the first repo's id, and where its gateway listens."""

    target: Target
    repo_id: int
    ha: dict[str, str]
    hb: dict[str, str]
    terms: dict[str, Any]
    admins: dict[str, dict[str, str]] = field(default_factory=dict)
    custodial: dict[str, str] = field(default_factory=dict)
    orgs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def onboard(cls, checkout: Path, data_dir: Path) -> Members:
        script = Path(__file__).resolve().parents[1] / "bench_members.py"
        done = subprocess.run(
            [str(python_of(checkout)), str(script), str(checkout), str(data_dir)],
            cwd=checkout,
            capture_output=True,
            text=True,
            timeout=UP_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"onboarding in {checkout} failed:\n{done.stderr[-3000:]}")
        got = json.loads(done.stdout.strip().splitlines()[-1])
        return cls(
            Target(got["gateway_url"], got["tls_cert"]),
            int(got["repo_id"]),
            got["ha"],
            got["hb"],
            got["terms"],
            got.get("admins", {}),
            got.get("custodial", {}),
            got.get("orgs", {}),
        )
