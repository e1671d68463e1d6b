"""``reponet up --replicas 2`` end to end: the real command with a fresh PostgreSQL schema and an event stream key of
its own in Redis (both removed after). Through the balancer the API answers and both replicas serve (``/readyz``
names the one that answered, and checks the broker); each worker kind has one leader among the two workers; the
price feed and surveillance each run twice with one lease holder; every instance keeps its own state file; Ctrl-C
stops everything and every child has exited."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gateway.leader import WorkerKind
from tests.e2e.test_up_demo import REPONET, ROOT, _free_port
from tests.scale.stack import haproxy_or_skip, pg_schema, redis_or_skip, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(420)]

UP_READY_SECONDS = 240.0
CHILDREN = {
    "node", "worker-1", "worker-2", "replica-1", "replica-2", "balancer",
    "risk", "risk-2", "feed", "feed-2", "surveillance", "surveillance-2", "match", "match-2",
}  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_with_two_replicas_serves_through_the_balancer_and_stops_cleanly(tmp_path: Path) -> None:
    haproxy_or_skip()
    broker = redis_or_skip()
    stream = f"reponet:test-up-{uuid.uuid4().hex[:10]}"
    data_dir, port = tmp_path / "net", _free_port()
    with pg_schema() as database:
        log = tmp_path / "up.log"
        with log.open("ab") as out:
            up = subprocess.Popen(
                [*REPONET, "up", "--data-dir", str(data_dir), "--rpc-port", str(_free_port()), "--port", str(port),
                 "--replicas", "2", "--database", database, "--broker", broker],
                env={**os.environ, "REPONET_EVENT_STREAM": stream},
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
            )  # fmt: skip
        pids: dict[str, int] = {}
        clean = False
        try:
            wait_until(
                "reponet up --replicas 2 is up",
                lambda: up.poll() is None and "RepoNet is up." in log.read_text(errors="replace"),
                UP_READY_SECONDS,
            )
            pids = {k: int(v) for k, v in json.loads((data_dir / "run.json").read_text()).items()}
            assert set(pids) == {"up", *CHILDREN}, pids
            text = log.read_text()
            assert f"balancer started  https://127.0.0.1:{port}" in text and "risk started twice" in text

            # through the balancer: the API answers, and both replicas take turns (each names itself)
            answered: list[str] = []
            with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=False, timeout=10) as http:
                for _ in range(6):  # round robin by connection (TCP mode): a new one each, both take turns
                    ready = httpx.get(f"https://127.0.0.1:{port}/readyz", verify=False, timeout=10)
                    assert ready.status_code == 200, ready.text
                    body = ready.json()
                    assert body["checks"]["broker"]["ok"] and body["checks"]["database"]["ok"], body
                    answered.append(body["instance"])
                    time.sleep(0.3)
                assert set(answered) == {"replica-1", "replica-2"}, answered
                # the first /openapi.json builds the schema of the whole API: seconds of CPU on a slow, busy machine
                assert http.get("/openapi.json", timeout=120).status_code == 200
                assert http.get("/v1/wallets").status_code == 401  # the API itself, not only the probe

            # one leader per worker kind, the other worker standing by
            logs = data_dir / "logs"

            def one_leader_each() -> bool:
                texts = [(logs / f"worker-{i}.log").read_text(errors="replace") for i in (1, 2)]
                return all(sum(f"leader of {k.value}:" in t for t in texts) == 1 for k in WorkerKind)

            wait_until("one worker leads each kind", one_leader_each, 60)
            # the feed and surveillance: two processes each, one lease holder (a row in the shared database)
            engine = sa.create_engine(database)
            try:

                def one_holder_each() -> bool:
                    with engine.connect() as conn:
                        rows = conn.execute(sa.text("SELECT kind, holder FROM service_leases")).all()
                    holders = {kind: holder for kind, holder in rows}
                    return set(holders) >= {"price-feed", "surveillance"}

                wait_until("the feed and surveillance each hold their lease", one_holder_each, 60)
                with engine.connect() as conn:
                    rows = conn.execute(sa.text("SELECT kind, holder FROM service_leases")).all()
            finally:
                engine.dispose()
            for kind, name in (("price-feed", "feed"), ("surveillance", "surveillance")):
                holder_pid = {int(h.rsplit(":", 1)[1]) for k, h in rows if k == kind}
                assert len(holder_pid) == 1 and holder_pid <= {pids[name], pids[f"{name}-2"]}, rows
            for name in ("feed", "surveillance"):

                def standing_by(name: str = name) -> bool:  # the other waits, once it has loaded (a model, its key)
                    texts = [(logs / f"{n}.log").read_text(errors="replace") for n in (name, f"{name}-2")]
                    return sum("standing by" in t for t in texts) >= 1

                wait_until(f"the other {name} instance stands by", standing_by, 60)
            # each instance its own state file
            assert (data_dir / "risk" / "risk.db").exists() and (data_dir / "risk" / "risk-2.db").exists()
            assert (data_dir / "surveillance" / "surveillance-2.db").exists()
            assert up.poll() is None

            up.send_signal(signal.SIGINT)  # Ctrl-C
            assert up.wait(timeout=120) == 0, log.read_text()[-3000:]
            stopped = log.read_text().rsplit("stopped ", 1)[1].split("\n", 1)[0]
            assert set(stopped.split(", ")) == CHILDREN, stopped
            assert stopped.endswith("balancer, replica-2, replica-1, worker-2, worker-1, node"), stopped
            wait_until("every child exited", lambda: not any(_alive(pids[n]) for n in CHILDREN), 10)
            assert not (data_dir / "run.json").exists()
            clean = True
        finally:
            if up.poll() is None:
                up.send_signal(signal.SIGINT)
                try:
                    up.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    up.kill()
                    up.wait(timeout=10)
            for name, pid in pids.items() if not clean else ():  # only what this run left running
                if name != "up" and _alive(pid):
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            import redis

            redis.Redis.from_url(broker).delete(stream)
