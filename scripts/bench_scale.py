#!/usr/bin/env python3
"""Benchmark the scale-out: ``reponet up --replicas 1`` and ``--replicas 2`` (HAProxy, API replicas, two worker
processes electing a leader per kind, PostgreSQL, Redis) up at once, measured in turns in the same run.

Figures: GET/s of the read mix at ``--clients`` readers, and repo opens per second (direct terms, both custodial
signatures, wait until final) at ``--open-clients``, for 1 and 2 replicas; then, on the 2-replica network, the
failovers: one API replica killed with SIGKILL under a GET loop through the balancer (failed requests and the
longest gap between answers), and the worker leading the relayer killed (seconds until the standby says it leads,
and how long an open asked right then takes to be final). Each PostgreSQL database is made for the run and dropped.

    .venv/bin/python scripts/bench_scale.py --json
    .venv/bin/python scripts/bench_scale.py --quick
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gateway import read_paths, spawn_pool  # noqa: E402
from bench_load import Client, open_load, open_one, read_load  # noqa: E402
from harness.gateway_up import GATEWAY_ENV, Members, free_port, loadavg  # noqa: E402

UP_SECONDS = 420
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/{db}"


class Replicated:
    """``reponet up --replicas N`` in its own data directory and PostgreSQL database, until ``stop``."""

    def __init__(self, work: Path, replicas: int, redis_db: int) -> None:
        import psycopg

        self.replicas = replicas
        self.data_dir = work / f"net-r{replicas}"
        self.database = f"bench_scale_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.log = open(work / f"net-r{replicas}-up.log", "w+")
        command = [sys.executable, "-m", "gateway.cli", "up", "--data-dir", str(self.data_dir)]
        command += ["--rpc-port", str(free_port()), "--port", str(free_port()), "--replicas", str(replicas)]
        command += ["--database", f"postgresql://postgres@127.0.0.1:5432/{self.database}"]
        command += ["--broker", REDIS.format(db=redis_db)]
        env = {**os.environ, **GATEWAY_ENV, "PYTHONUNBUFFERED": "1", "REPONET_EVENT_STREAM": self.database}
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + UP_SECONDS
        while "RepoNet is up." not in Path(self.log.name).read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"reponet up did not come up:\n{Path(self.log.name).read_text()[-3000:]}")
            time.sleep(0.2)

    def pids(self) -> dict[str, int]:
        return {k: int(v) for k, v in json.loads((self.data_dir / "run.json").read_text()).items()}

    def worker_log(self, name: str) -> str:
        return (self.data_dir / "logs" / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        import psycopg

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def api_failover(net: Replicated, members: Members, seconds: float = 6.0) -> dict[str, Any]:
    """GETs in a loop through the balancer while replica-1 is killed: failures and the longest gap (ms)."""
    client = Client(members.target)
    answered: list[float] = []
    failures = 0
    stop = threading.Event()

    def loop() -> None:
        nonlocal failures
        while not stop.is_set():
            try:
                status, _ = client.request("GET", "/v1/positions", members.ha)
                if status == 200:
                    answered.append(time.monotonic())
                    continue
            except Exception:
                client._local.connection = None
            failures += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(1.0)
    killed = time.monotonic()
    os.kill(net.pids()["replica-1"], signal.SIGKILL)
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=30)
    after = [t for t in answered if t >= killed - 1.0]
    gaps = [b - a for a, b in itertools.pairwise(after)]
    return {
        "failed_requests": failures,
        "longest_gap_ms": round(max(gaps, default=0.0) * 1000, 1),
        "answered_after_kill": len([t for t in answered if t > killed]),
    }


def relayer_failover(net: Replicated, members: Members) -> dict[str, Any]:
    """Kill the worker leading the relayer; seconds until the other says it leads, and an open's time to final."""
    leader = next(w for w in ("worker-1", "worker-2") if "leader of relayer:" in net.worker_log(w))
    standby = "worker-2" if leader == "worker-1" else "worker-1"
    before = net.worker_log(standby).count("leader of relayer:")
    killed = time.monotonic()
    os.kill(net.pids()[leader], signal.SIGKILL)
    result: dict[str, Any] = {"killed": leader}
    opened: dict[str, Any] = {}
    opener = threading.Thread(
        target=lambda: opened.update(open_one(Client(members.target), members.terms, members.ha, members.hb)),
        daemon=True,
    )
    opener.start()
    while net.worker_log(standby).count("leader of relayer:") == before:
        if time.monotonic() - killed > 60:
            result["takeover_s"] = None
            break
        time.sleep(0.02)
    else:
        result["takeover_s"] = round(time.monotonic() - killed, 2)
    opener.join(timeout=120)
    result["open_during_failover_ms"] = round(opened.get("total", -1.0), 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 readers, 2 s, 4 opens")
    parser.add_argument("--clients", type=int, default=50, help="concurrent readers of the GET mix")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per GET figure")
    parser.add_argument("--opens", type=int, default=12, help="repo opens per open figure")
    parser.add_argument("--open-clients", type=int, default=4, help="concurrent clients opening repos")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each figure (1 and 2 replicas alternate)")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.opens, args.rounds = 10, 2.0, 4, 1
    logging.basicConfig(level=logging.ERROR)
    results: dict[str, Any] = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        nets: dict[int, Replicated] = {}
        try:
            for replicas, redis_db in ((1, 10), (2, 11)):
                nets[replicas] = Replicated(work, replicas, redis_db)
            members = {n: Members.onboard(ROOT, net.data_dir) for n, net in nets.items()}
            figures: dict[int, dict[str, list[Any]]] = {
                n: {"get_rps": [], "opens_per_s": [], "load_1m": []} for n in nets
            }
            with spawn_pool() as pool:
                for _ in range(args.rounds):
                    for n in nets:
                        m = members[n]
                        paths = list(read_paths(m.repo_id).values())
                        reads = pool.submit(read_load, m.target, paths, m.ha, args.clients, args.seconds).result()
                        figures[n]["get_rps"].append(reads.summary()["rps"])
                        opens = pool.submit(open_load, m.target, m.terms, m.ha, m.hb, args.open_clients, args.opens)
                        figures[n]["opens_per_s"].append(opens.result().summary()["opens_per_s"])
                        figures[n]["load_1m"].append(loadavg())
            for n, f in figures.items():
                results[f"replicas_{n}"] = {
                    "get_rps": max(f["get_rps"]),
                    "opens_per_s": max(f["opens_per_s"]),
                    "rounds": f,
                    "readers": args.clients,
                    "open_clients": args.open_clients,
                }
            results["get_ratio_2_over_1"] = round(
                results["replicas_2"]["get_rps"] / results["replicas_1"]["get_rps"], 2
            )
            results["api_replica_killed"] = api_failover(nets[2], members[2])
            results["relayer_killed"] = relayer_failover(nets[2], members[2])
        finally:
            for net in nets.values():
                net.stop()
    if args.json:
        print(json.dumps(results))
    else:
        for name, value in results.items():
            print(f"{name}: {json.dumps(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
