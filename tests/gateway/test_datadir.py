"""The data directory (``gateway.datadir``): owner-only secrets, a state file that round-trips, a clear error
without one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.datadir import DataDir, DataDirError, TokenInfo, UpState


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
