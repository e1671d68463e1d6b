"""``reponet risk grant``: the key is created through the gateway's client service under a member admin's name
(audited, hashed, scoped to repos:read and risk:act), written to the service's config owner-only, and a new grant
revokes the member's previous key only after the new one is in the file; nobody else can grant for the member."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.cli import main
from gateway.datadir import DataDir
from gateway.db.models import ApiClient, AuditEntry, Role
from gateway.exceptions import NotFound, PermissionDenied
from gateway.risk.grant import grant
from tests.gateway.conftest import Cast, World


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"gateway_url": "https://127.0.0.1:1", "ca_file": "", "members": []}))
    return path


def test_grant_writes_a_working_key_and_rotates_the_old_one(world: World, cast: Cast, tmp_path: Path) -> None:
    config = _config(tmp_path)
    admin = cast.a_admin.user.email
    with world.ctx.sessions() as session:
        first = grant(session, config_path=config, member="Bank A", admin_email=admin, days=30)
    members = json.loads(config.read_text())["members"]
    assert [m["name"] for m in members] == ["Bank A"] and first.revoked is None
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    old_key = {"X-API-Key": members[0]["api_key"]}
    assert world.client.get("/v1/risk/repos", headers=old_key).status_code == 200
    # risk:act: the margin-call route answers (no repo) rather than refusing the scope
    body = {"repo_id": 1, "agreement_id": "00000000-0000-0000-0000-000000000001", "call_amount": "1"}
    assert world.client.post("/v1/risk/margin-calls", json=body, headers=old_key).status_code == 404
    with world.ctx.sessions() as session:
        row = session.get(ApiClient, first.client_id)
        assert row is not None and row.scopes == ["repos:read", "risk:act"] and row.secret_hash != old_key["X-API-Key"]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "client.created")).all()[-1]
        assert entry.actor == f"user:{cast.a_admin.user.id}"

    with world.ctx.sessions() as session:  # by the organization's id this time: the same member, a new key
        second = grant(session, config_path=config, member=str(world.orgs["a"]), admin_email=admin, days=30)
    assert second.revoked == first.client_id
    members = json.loads(config.read_text())["members"]
    assert len(members) == 1 and members[0]["client_id"] == str(second.client_id)
    assert world.client.get("/v1/risk/repos", headers=old_key).status_code == 401
    assert world.client.get("/v1/risk/repos", headers={"X-API-Key": members[0]["api_key"]}).status_code == 200


def test_only_the_members_own_admin_can_grant(world: World, cast: Cast, tmp_path: Path) -> None:
    config = _config(tmp_path)
    with world.ctx.sessions() as session, pytest.raises(PermissionDenied):
        grant(session, config_path=config, member="Bank A", admin_email=cast.a_trader.user.email, days=30)
    b_admin = world.user("b", Role.MEMBER_ADMIN, "badmin-grant")
    with world.ctx.sessions() as session, pytest.raises(NotFound):
        grant(session, config_path=config, member="Bank A", admin_email=b_admin.user.email, days=30)
    with world.ctx.sessions() as session, pytest.raises(NotFound):  # the operator is not a member
        grant(session, config_path=config, member="RepoNet Operator", admin_email=b_admin.user.email, days=30)
    assert json.loads(config.read_text())["members"] == []
    with world.ctx.sessions() as session:
        assert session.scalars(select(ApiClient)).all() == []


def test_the_command_finds_an_up_directory(world: World, cast: Cast, tmp_path: Path) -> None:
    """``--data-dir`` names the database and the config as ``reponet up`` lays them out (fails if the layout moves:
    the up directory here is the world's own database, linked where DataDir puts it)."""
    up = DataDir(tmp_path / "up")
    database = world.ctx.settings.database_url.removeprefix("sqlite:///")
    (tmp_path / "up" / "gateway").mkdir(parents=True)
    (tmp_path / "up" / "gateway" / "gateway.db").symlink_to(Path(database).resolve())
    assert up.database_url == f"sqlite:///{(tmp_path / 'up' / 'gateway' / 'gateway.db').resolve()}"
    (tmp_path / "up" / "risk").mkdir()
    config = _config(tmp_path / "up" / "risk")
    args = ["risk", "grant", "--data-dir", str(tmp_path / "up"), "--member", "Bank A"]
    assert main([*args, "--admin", cast.a_trader.user.email]) != 0  # refused: a trader
    assert main([*args, "--admin", cast.a_admin.user.email]) == 0
    assert [m["name"] for m in json.loads(config.read_text())["members"]] == ["Bank A"]
