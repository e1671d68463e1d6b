"""The ``reponet up`` data directory: owner-only secrets, a state file that round-trips, supervision basics."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from gateway.orchestrator.state import DataDir, DataDirError, TokenInfo, UpState
from gateway.orchestrator.supervisor import ChildFailed, Supervisor


def test_secrets_are_owner_only_and_stable(tmp_path: Path) -> None:
    d = DataDir(tmp_path / "net")
    d.create()
    assert stat.S_IMODE(d.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(d.secrets.stat().st_mode) == 0o700
    first = d.account("operator")
    assert d.account("operator").address == first.address  # created once, read back after
    assert stat.S_IMODE((d.secrets / "operator.key").stat().st_mode) == 0o600
    given = "0x" + "11" * 32
    assert d.account("issuer", given).key.hex().endswith("11" * 32)


def test_state_round_trips_and_holds_no_secrets(tmp_path: Path) -> None:
    d = DataDir(tmp_path / "net")
    d.create()
    state = UpState(
        chain_id=7,
        rpc_url="http://127.0.0.1:1",
        contracts={"repo_engine": "0xabc"},
        cash_tokens=[TokenInfo("rUSD", "0x1", 6, currency="USD")],
        steps_done=["system"],
    )
    d.save(state)
    again = d.load()
    assert again == state and again.done("system") and not again.done("assets")
    assert stat.S_IMODE(d.state_file.stat().st_mode) == 0o600
    assert "key" not in d.state_file.read_text().lower().replace("tokens", "")


def test_no_state_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="reponet up"):
        DataDir(tmp_path / "missing").load()


def test_supervisor_reports_a_child_that_exits(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run.json")
    sup.start("short", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"], tmp_path / "short.log")
    long = sup.start("long", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "long.log")
    assert (tmp_path / "run.json").exists()
    with pytest.raises(ChildFailed) as failed:
        sup.watch(interval=0.05)
    assert failed.value.name == "short" and failed.value.returncode == 3
    assert "bye" in failed.value.log_tail()
    assert sup.stop_all() == ["long", "short"]
    assert long.process.poll() is not None
    assert not (tmp_path / "run.json").exists()


def test_up_starts_several_api_workers_only_with_shared_rate_limits() -> None:
    """In-memory limits are shared out among workers (each gets its share): ``reponet up`` keeps one worker unless
    the limits have a shared store, so its sign-in limit is not halved under the onboarding flow."""
    from gateway.orchestrator.launch import MAX_API_WORKERS, default_api_workers

    assert default_api_workers({}) == 1
    assert default_api_workers({"REPONET_RATE_LIMIT_STORAGE_URL": "memory://"}) == 1
    shared = default_api_workers({"REPONET_RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"})
    assert 1 <= shared <= MAX_API_WORKERS
    assert default_api_workers({"REPONET_RATE_LIMIT_STORAGE_URL": "file:///data/ratelimits.bin"}) == shared


def test_up_shares_rate_limits_through_a_file_unless_told_otherwise(tmp_path: Path) -> None:
    """``reponet up`` counts its workers' limits in one shared file, so it can run one worker per core."""
    from gateway.orchestrator.launch import rate_limit_storage

    assert rate_limit_storage(tmp_path, {}) == f"file://{tmp_path.resolve() / 'ratelimits.bin'}"
    assert rate_limit_storage(tmp_path, {"REPONET_RATE_LIMIT_STORAGE_URL": "redis://r/0"}) == "redis://r/0"
