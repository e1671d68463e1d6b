"""``reponet up --replicas``: what it refuses without a shared database, a broker or HAProxy; the environment every
process shares; the balancer's generated config, checked by HAProxy itself; and each service started twice."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from gateway.config import up_database_url
from gateway.orchestrator.context import UpConfig
from gateway.orchestrator.exceptions import UpError
from gateway.orchestrator.replicas import Replica, check_config, free_port, haproxy_config, shared_env
from gateway.orchestrator.up import Up, instance_state

PG = "postgresql://postgres@127.0.0.1:5432/reponet"
REDIS = "redis://127.0.0.1:6379/0"


def config(tmp_path: Path, **overrides: object) -> UpConfig:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "node_host": None,
        "node_port": None,
        "gateway_host": None,
        "gateway_port": None,
        "rpc_url": None,
        "operator_key": None,
        "validators": 1,
        "validators_given": False,
        "block_time": 0.5,
        "chain_id": 1337,
        "admin_email": "admin@reponet.local",
        "replicas": 2,
        "database_url": PG,
        "broker_url": REDIS,
    }
    values.update(overrides)
    return UpConfig(**values)  # type: ignore[arg-type]


def test_replicas_need_postgresql_and_a_redis_broker(tmp_path: Path) -> None:
    with pytest.raises(UpError, match="--database postgresql"):
        check_config(config(tmp_path, database_url=None))
    with pytest.raises(UpError, match="--database postgresql"):
        check_config(config(tmp_path, database_url=f"sqlite:///{tmp_path}/g.db"))
    with pytest.raises(UpError, match="--broker redis"):
        check_config(config(tmp_path, broker_url="nats://127.0.0.1:4222"))


def test_every_process_shares_the_database_the_broker_and_the_rate_limits(tmp_path: Path) -> None:
    env = shared_env(config(tmp_path))
    assert env["REPONET_DATABASE_URL"] == PG
    assert env["REPONET_BROKER_URL"] == env["REPONET_RATE_LIMIT_STORAGE_URL"] == REDIS
    assert env["REPONET_API_WORKERS"] == "1"


def test_haproxy_accepts_the_generated_config(tmp_path: Path) -> None:
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (scripts/setup installs it: apt-get install haproxy)")
    replicas = [Replica(f"replica-{i}", "127.0.0.1", free_port("127.0.0.1")) for i in (1, 2)]
    text = haproxy_config("127.0.0.1", free_port("127.0.0.1"), replicas)
    assert all(f"server {r.name} 127.0.0.1:{r.port}" in text for r in replicas)
    assert "uri /readyz" in text and "option redispatch" in text
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    checked = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_with_replicas_each_service_starts_twice_one_to_lead_one_to_stand_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = io.StringIO()
    up = Up(config(tmp_path), Console(file=printed, width=200))
    monkeypatch.setattr(up, "gateway_env", dict)
    up.ctx.dir.logs.mkdir(parents=True, exist_ok=True)
    child = up._service("surveillance", [sys.executable, "-c", "pass"])
    try:
        names = [c.name for c in up.ctx.supervisor.children]
        assert names == ["surveillance", "surveillance-2"] and child.name == "surveillance"
        assert "surveillance started twice" in printed.getvalue() and "stands by" in printed.getvalue()
    finally:
        for started in up.ctx.supervisor.children:
            started.process.wait(timeout=30)


def test_each_instance_of_a_service_keeps_its_own_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes on one SQLite state file would share intents and cursors: the standby has ``risk-2.db``."""
    up = Up(config(tmp_path), Console(file=io.StringIO(), width=200))
    monkeypatch.setattr(up, "gateway_env", dict)
    up.ctx.dir.logs.mkdir(parents=True, exist_ok=True)
    state = tmp_path / "risk" / "risk.db"
    up._service("risk", [sys.executable, "-c", "pass"], state)
    try:
        first, second = up.ctx.supervisor.children
        assert first.argv[-2:] == ("--state", str(state))
        assert second.argv[-2:] == ("--state", str(tmp_path / "risk" / "risk-2.db"))
    finally:
        for started in up.ctx.supervisor.children:
            started.process.wait(timeout=30)
    assert instance_state(state, 1) == state


def test_service_grants_write_where_the_gateway_reads(tmp_path: Path) -> None:
    """Under --replicas the gateway's database is PostgreSQL (gateway.env): up's grant steps and ``reponet risk
    grant --data-dir`` wrote the keys into the unused SQLite file, and the services were refused (401)."""
    assert up_database_url(tmp_path) == f"sqlite:///{(tmp_path / 'gateway' / 'gateway.db').resolve()}"
    (tmp_path / "gateway.env").write_text(f"REPONET_ENVIRONMENT=production\nREPONET_DATABASE_URL={PG}\n")
    assert up_database_url(tmp_path) == PG
