"""The pieces of a replicated gateway for the scale tests: child processes with logs, a fresh PostgreSQL schema
(dropped after), and skips that say which service is missing."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.leader import WorkerKind
from tests.e2e.chains import ROOT
from tests.gateway.conftest import PG_ADMIN_URL, postgres_available

REDIS_URL = "redis://127.0.0.1:6379/12"


def wait_until(what: str, condition: Callable[[], object], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if condition():
                return
        except Exception:  # not up yet: refused, TLS not ready, ...
            pass
        time.sleep(0.05)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


class Proc:
    """A child process with its log; killed with SIGKILL by the chaos, stopped with SIGTERM at the end."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def leads(self) -> set[str]:
        """The kinds this worker said it leads (since its last start)."""
        text = self.output()
        return {k.value for k in WorkerKind if f"leader of {k.value}:" in text}

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def haproxy_or_skip() -> None:
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (scripts/setup installs it: apt-get install haproxy)")


def redis_or_skip() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return REDIS_URL


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A migrated, empty schema of its own in the machine's PostgreSQL, dropped after."""
    from gateway.db.migrate import upgrade

    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database 'test', user postgres)")
    schema = f"scale_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
