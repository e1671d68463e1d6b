"""Leader election of the workers (gateway.leader): one holder per kind, a standby that wins once the leader is
gone, and the fence that refuses a lost leader's write transactions; then ``reponet worker`` processes, where a
standby takes over within 5 s of the leader's SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.db.session import make_engine
from gateway.exceptions import LeadershipLost
from gateway.leader import FileElection, PostgresElection, WorkerKind, election_for, install_fence
from tests.gateway.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]
TAKEOVER_SECONDS = 5.0


def test_file_election_one_holder_then_the_standby(tmp_path: Path) -> None:
    leader, standby = FileElection(WorkerKind.RELAYER, tmp_path), FileElection(WorkerKind.RELAYER, tmp_path)
    assert leader.try_acquire()
    assert not standby.try_acquire()
    assert FileElection(WorkerKind.INDEXER, tmp_path).try_acquire()  # kinds are independent
    leader.release()
    assert standby.try_acquire() and standby.held()
    standby.release()


def _pg_or_skip(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("the advisory lock and its fence are PostgreSQL's; SQLite is covered by the file lock test")


def test_election_for_picks_the_lock_by_database(tmp_path: Path) -> None:
    assert isinstance(election_for(f"sqlite:///{tmp_path}/g.db", tmp_path, WorkerKind.ANCHOR), FileElection)
    assert isinstance(election_for(PG_ADMIN_URL, tmp_path, WorkerKind.ANCHOR), PostgresElection)


def test_postgres_standby_takes_over_and_the_old_leader_is_fenced(any_db_url: str) -> None:
    _pg_or_skip(any_db_url)
    leader, standby = PostgresElection(WorkerKind.RELAYER, any_db_url), PostgresElection(WorkerKind.RELAYER, any_db_url)
    engine = make_engine(any_db_url)
    install_fence(engine, [leader])
    admin = sa.create_engine(PG_ADMIN_URL)
    try:
        assert leader.try_acquire()
        assert not standby.try_acquire()
        with engine.begin() as conn:  # the leader writes while it holds the lock
            conn.execute(sa.text("SELECT 1"))
        with admin.begin() as conn:  # its lock connection is cut (a partition, a killed backend)
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": leader.pid})
        deadline = time.monotonic() + TAKEOVER_SECONDS
        while not standby.try_acquire():
            assert time.monotonic() < deadline, "the standby did not win the lock"
            time.sleep(0.05)
        with pytest.raises(LeadershipLost), engine.begin() as conn:  # before its heartbeat noticed: fenced
            conn.execute(sa.text("SELECT 1"))
        assert not leader.held()
        with pytest.raises(LeadershipLost), engine.begin() as conn:  # and from then on
            conn.execute(sa.text("SELECT 1"))
    finally:
        leader.release()
        standby.release()
        engine.dispose()
        admin.dispose()


def test_postgres_locks_of_other_schemas_do_not_collide(any_db_url: str) -> None:
    _pg_or_skip(any_db_url)
    ours = PostgresElection(WorkerKind.WEBHOOKS, any_db_url)
    public = PostgresElection(WorkerKind.WEBHOOKS, PG_ADMIN_URL)
    try:
        assert ours.try_acquire()
        assert ours.key != public.key or public.try_acquire()
    finally:
        ours.release()
        public.release()


def _worker(tmp_path: Path, db_url: str, name: str, **extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / f"{name}.log"
    env = {
        **extra,
        **os.environ,
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": "t" * 48,
        "REPONET_DATABASE_URL": db_url,
        "REPONET_DATA_DIR": str(tmp_path / "data"),
        "REPONET_MASTER_KEY_FILE": str(tmp_path / "data" / "master-keys.json"),
        "REPONET_ANCHOR_INTERVAL_SECONDS": "0",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    return proc, log


def _leads(log: Path) -> set[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return {k.value for k in WorkerKind if f"leader of {k.value}:" in text}


def _wait(condition: object, seconds: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


@pytest.mark.timeout(120)
def test_worker_processes_one_leads_the_other_takes_over(tmp_path: Path, any_db_url: str) -> None:
    every = {k.value for k in WorkerKind}
    first, first_log = _worker(tmp_path, any_db_url, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        _wait(lambda: _leads(first_log) == every or first.poll() is not None, 60, "the first worker leads")
        assert first.poll() is None, first_log.read_text(errors="replace")
        second, second_log = _worker(tmp_path, any_db_url, "second")
        _wait(lambda: "standing for" in second_log.read_text(errors="replace"), 60, "the second worker stands")
        time.sleep(1.0)  # several of its tries at the locks: it must win none while the leader lives
        assert _leads(second_log) == set()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        took = _wait(lambda: _leads(second_log) == every, TAKEOVER_SECONDS, "the standby takes over")
        assert took < TAKEOVER_SECONDS
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


@pytest.mark.timeout(120)
def test_a_worker_waits_for_a_node_out_of_reach_and_stops_cleanly(tmp_path: Path, db_url: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there
    proc, log = _worker(
        tmp_path,
        db_url,
        "waiting",
        REPONET_CHAIN_RPC_URL=f"http://127.0.0.1:{port}",
        REPONET_REPO_ENGINE_ADDRESS="0x" + "11" * 20,
        REPONET_PRICE_ORACLE_ADDRESS="0x" + "22" * 20,
        REPONET_RELAYER_PRIVATE_KEY="0x" + "5e" * 32,
        REPONET_CHAIN_PRIVATE_KEY="0x" + "5f" * 32,
        REPONET_IDENTITY_REGISTRY_ADDRESS="0x" + "33" * 20,
        REPONET_AUDIT_ANCHOR_ADDRESS="0x" + "44" * 20,
    )
    try:
        _wait(lambda: "node is out of reach" in log.read_text(errors="replace") or proc.poll() is not None, 60, "waits")
        assert proc.poll() is None, log.read_text(errors="replace")  # waiting, not crashed
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
