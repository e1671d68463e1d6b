#!/usr/bin/env python3
"""Benchmark the gateway as a user runs it: ``reponet up`` in a temporary data directory (node, contracts,
gateway over HTTPS), two members onboarded the way ``reponet demo`` does it, custodial wallets funded, then load
from separate client processes.

Measured in one run: GET requests per second with p50/p99 per read endpoint (positions, a repo, trades, balances,
settlements) and for their mix, at 10, 50 and 100 clients; repo opens (direct terms, both custodial signatures,
wait until final on chain) alone and with 50 concurrent readers of the mix; ``/healthz`` as the framework's
ceiling; the gateway's and the node's CPU milliseconds per request. Each figure is taken with the gateway at 1
and at 2 HTTP worker processes (``--workers``; REPONET_API_WORKERS). ``--reference DIR`` runs the same measurements
against a second checkout (its own ``.venv``, its default workers) first, so before/after figures come from one
run.

    .venv/bin/python scripts/bench_gateway.py --json
    .venv/bin/python scripts/bench_gateway.py --reference /work/main --json
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import LoadResult, Target, open_load, read_load  # noqa: E402

T = TypeVar("T")
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


class Network:
    """``reponet up`` of a checkout as a child process, in its own data directory, until ``stop``."""

    def __init__(self, checkout: Path, data_dir: Path, workers: int = 1) -> None:
        python = checkout / ".venv" / "bin" / "python"
        self.data_dir = data_dir
        self.log = open(data_dir.parent / f"{data_dir.name}-up.log", "w+")
        command = [str(python if python.exists() else sys.executable), "-m", "gateway.cli", "up"]
        command += ["--data-dir", str(data_dir), "--rpc-port", str(free_port()), "--port", str(free_port())]
        self.process = subprocess.Popen(
            command,
            cwd=checkout,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **GATEWAY_ENV, "REPONET_API_WORKERS": str(workers), "PYTHONUNBUFFERED": "1"},
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

    def cpu_seconds(self) -> dict[str, float]:
        """User plus system CPU of each group (Linux /proc), children reaped included."""
        ticks = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for name, pids in self.groups().items():
            total = 0
            for pid in pids:
                try:
                    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += sum(int(f) for f in fields[11:15])
            out[name] = total / ticks
        return out


def spawn_pool() -> Any:
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    for f in [pool.submit(time.sleep, 0) for _ in range(2)]:
        f.result()  # the workers are up before any clock starts
    return pool


def measured(net: Network, run: Callable[[], T], count: Callable[[T], int]) -> tuple[T, dict[str, float]]:
    """``run()`` with the gateway's and the node's CPU milliseconds per request it made."""
    before = net.cpu_seconds()
    result = run()
    after = net.cpu_seconds()
    n = max(1, count(result))
    return result, {f"{k}_cpu_ms": round((after[k] - before[k]) * 1000 / n, 2) for k in before}


class Members:
    """Two members onboarded by the demo's own steps, their custodial wallets funded, a first repo opened."""

    def __init__(self, data_dir: Path) -> None:
        from rich.console import Console

        from gateway.demo.story import Story
        from gateway.ops.chain import send, to_units
        from gateway.ops.client import wait_settlement
        from gateway.ops.network import COMPLIANCE_USER, OPS_USER
        from gateway.ops.network import Network as OpsNetwork

        net = OpsNetwork(data_dir)
        story = Story(net, Console(file=io.StringIO()))
        ops, compliance = net.session(OPS_USER), net.session(COMPLIANCE_USER)
        story.ops = ops
        story.gateway_trading = True
        story.onboard(ops, compliance)
        a, b = story.members["a"], story.members["b"]
        wallets = {m.key: self._custodial(m.session.get("/v1/wallets"), m.custodial) for m in (a, b)}
        story.settle(
            ops.post(
                "/v1/operator/cash/issue",
                body={"token": story.cash.address, "wallet": b.custodial, "amount": "100000000"},
            ),
            "cash issue",
        )
        bond = story.tok(story.gov).functions.mint(a.custodial, to_units("100000000", story.gov.decimals))
        send(story.w3, story.issuer, bond, "mint bonds")
        for listed in (story.gov, story.corp):
            story.post_price(listed, "100")
        self.terms: dict[str, Any] = {
            "role": "seller",
            "wallet_id": wallets["a"],
            "counterparty_wallet": b.custodial,
            "cash_token": story.cash.address,
            "collateral_token": story.gov.address,
            "purchase_price": "1000",
            "collateral_amount": "1100",
            "rate_fraction": "0.035",
            "haircut_bps": 200,
            "tenor_seconds": 86_400,
        }
        # The first open through the sessions: each steps up once (TOTP) and the wallets send their approvals.
        trade = a.session.post("/v1/trades", body=self.terms)
        a.session.post(f"/v1/trades/{trade['id']}/sign")
        signed = b.session.post(f"/v1/trades/{trade['id']}/sign")
        wait_settlement(a.session, {"id": signed["trade"]["settlement_id"], "status": "pending"}, timeout=120)
        opened = a.session.get(f"/v1/trades/{trade['id']}")
        self.repo_id = int(opened["repo_id"])
        self.ha = {"Authorization": f"Bearer {a.session.creds.access_token}"}
        self.hb = {"Authorization": f"Bearer {b.session.creds.access_token}"}
        self.target = Target(net.gateway_url, str(net.dir.tls_cert))
        net.close()

    @staticmethod
    def _custodial(listing: Any, address: str) -> str:
        rows = listing["data"] if isinstance(listing, dict) else listing
        return next(str(w["id"]) for w in rows if str(w["address"]).lower() == address.lower())


def read_paths(repo_id: int) -> dict[str, str]:
    return {
        "positions": "/v1/positions",
        "repo": f"/v1/repos/{repo_id}",
        "trades": "/v1/trades?limit=20",
        "balances": "/v1/balances",
        "settlements": "/v1/settlements",
    }


def bench(checkout: Path, args: argparse.Namespace, work: Path, workers: int = 1) -> dict[str, Any]:
    net = Network(checkout, work / f"net-{checkout.name}-w{workers}", workers)
    try:
        members = Members(net.data_dir)
        target, ha, hb = members.target, members.ha, members.hb
        paths = read_paths(members.repo_id)
        out: dict[str, Any] = {
            "checkout": str(checkout),
            "api_workers": workers,
            "gateway_processes": len(net.groups()["gateway"]),
            "clients": args.clients,
        }
        with spawn_pool() as pool:

            def reads(selected: list[str], clients: int, headers: dict[str, str] = ha) -> dict[str, Any]:
                result, cpu = measured(
                    net,
                    lambda: pool.submit(read_load, target, selected, headers, clients, args.seconds).result(),
                    lambda r: sum(len(v) for v in r.latencies.values()),
                )
                return {**result.summary(), **cpu}

            pool.submit(read_load, target, list(paths.values()), ha, 4, 0.5).result()  # warm caches
            for clients in args.clients:
                out[f"mix_c{clients}"] = reads(list(paths.values()), clients)
                for name, path in paths.items():
                    out[f"{name}_c{clients}"] = reads([path], clients)
            out["healthz_c50"] = reads(["/healthz"], 50, {})

            def opens() -> dict[str, Any]:
                result, cpu = measured(
                    net,
                    lambda: pool.submit(
                        open_load, target, members.terms, ha, hb, args.open_clients, args.opens
                    ).result(),
                    lambda r: max(1, int(r["opens"])),
                )
                return {**result, **cpu}

            out["open_alone"] = opens()
            with multiprocessing.get_context("spawn").Manager() as manager:
                stop = manager.Event()
                readers = pool.submit(read_load, target, list(paths.values()), ha, 50, 3600.0, stop)
                time.sleep(1.0)  # the readers are at full speed before the first open
                try:  # CPU per open is not told apart from the readers' here: the figure is latency
                    out["open_with_50_readers"] = {k: v for k, v in opens().items() if not k.endswith("_cpu_ms")}
                finally:
                    stop.set()
                loaded: LoadResult = readers.result()
            out["readers_during_opens"] = loaded.summary()
        alone, loaded_p99 = out["open_alone"]["p99_ms"], out["open_with_50_readers"]["p99_ms"]
        out["open_p99_ratio_under_load"] = round(loaded_p99 / alone, 2) if alone else None
        return out
    finally:
        net.stop()


def flat(results: dict[str, Any]) -> Iterator[str]:
    for key, value in results.items():
        if isinstance(value, dict):
            figures = ", ".join(f"{k} {v}" for k, v in value.items() if k != "error_samples")
            yield f"  {key}: {figures}"
            for sample in value.get("error_samples", []):
                yield f"    error: {sample}"
        else:
            yield f"  {key}: {value}"


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    try:
        yield path
    finally:
        if not keep:
            subprocess.run(["rm", "-rf", str(path)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 clients, 1 s per figure, 2 opens")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50, 100], help="reader counts")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per read figure")
    parser.add_argument("--opens", type=int, default=24, help="repo opens per open figure")
    parser.add_argument("--open-clients", type=int, default=4, help="concurrent clients opening repos")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="HTTP worker counts to measure this checkout with"
    )
    parser.add_argument("--reference", type=Path, default=None, help="also measure this checkout, first (1 worker)")
    parser.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.opens, args.open_clients = [10], 1.0, 2, 1
    logging.basicConfig(level=logging.ERROR)
    results: dict[str, Any] = {}
    with workdir(args.keep) as work:
        if args.reference is not None:
            results["reference"] = bench(args.reference.resolve(), args, work)
        for workers in args.workers:
            results[f"this_w{workers}"] = bench(ROOT, args, work, workers)
    if args.json:
        print(json.dumps(results))
    else:
        for name, figures in results.items():
            print(f"{name}:")
            for line in flat(figures):
                print(line)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
