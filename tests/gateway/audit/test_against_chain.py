"""``reponet audit verify`` checks against the chain unless told it is offline; the unanchored tail is reported and
kept short; anonymous requests do not grow the audit chain."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway import cli, config
from gateway.config import Settings
from gateway.db import audit_log
from gateway.db.models import AuditAnchorRecord, AuditEntry, AuditHead
from tests.gateway.conftest import Cast, World


@pytest.fixture
def reponet(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ``reponet`` command configured for the world's gateway, its chain the world's chain."""
    settings = world.ctx.settings
    for name, value in {
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": settings.jwt_secret,
        "REPONET_DATABASE_URL": settings.database_url,
        "REPONET_MASTER_KEY_FILE": str(settings.master_key_file),
    }.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


def _rewrite_from(session: Session, first: int) -> None:
    """What an insider with the database does: rewrite entries from ``first`` on, every hash recomputed, and the
    database's copy of the anchors and the head made to match."""
    prev = session.scalars(select(AuditEntry.entry_hash).where(AuditEntry.sequence == first - 1)).one()
    rewritten: dict[int, str] = {}
    for row in session.scalars(select(AuditEntry).where(AuditEntry.sequence >= first).order_by(AuditEntry.sequence)):
        row.object_id, row.prev_hash = "rewritten", prev
        row.entry_hash = audit_log.entry_hash(
            sequence=row.sequence,
            at=row.at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            change_digest=row.change_digest,
            prev_hash=prev,
        )
        rewritten[row.sequence] = prev = row.entry_hash
    for anchor in session.scalars(select(AuditAnchorRecord)):
        if anchor.sequence in rewritten:
            anchor.head_hash = rewritten[anchor.sequence]
    session.execute(update(AuditHead).values(entry_hash=prev))
    session.commit()


def test_verify_reads_the_anchors_from_the_chain_by_default(
    world: World,
    cast: Cast,
    reponet: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gateway import app

    monkeypatch.setattr(app, "chain_from_settings", lambda settings: world.chain)
    anchored = cast.officer1.post("/v1/audit/anchor")
    assert anchored.status_code == 201, anchored.text
    assert cli.main(["--json", "audit", "verify"]) == cli.ExitStatus.OK
    intact = json.loads(capsys.readouterr().out)
    with world.ctx.sessions() as session:
        _rewrite_from(session, 3)
    assert cli.main(["--json", "audit", "verify"]) == cli.ExitStatus.CHECK_FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and "anchored" in report["reason"]
    assert intact["anchors_source"] == "chain" and intact["anchors_checked"] == 1
    # Offline, the database's own anchors agree with the rewritten log: the check passes, and says loudly why
    # that means little.
    assert cli.main(["--json", "audit", "verify", "--offline"]) == cli.ExitStatus.OK
    out, err = capsys.readouterr()
    assert json.loads(out)["anchors_source"] == "database"
    assert "OFFLINE" in err and "rewrite" in err


def test_verify_without_a_chain_refuses_unless_told_it_is_offline(
    world: World, reponet: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["audit", "verify"]) == cli.ExitStatus.CONFIG  # no REPONET_CHAIN_RPC_URL here
    assert cli.main(["audit", "verify", "--offline"]) == cli.ExitStatus.OK
    assert "OFFLINE CHECK" in capsys.readouterr().err


def test_verify_reports_the_unanchored_tail(world: World, cast: Cast) -> None:
    assert cast.officer1.post("/v1/audit/anchor").status_code == 201
    with world.ctx.sessions() as session:
        for i in range(3):
            audit_log.append(session, actor="test", action="later", object_type="t", object_id=str(i), change={})
        session.commit()
    report = cast.officer1.get("/v1/audit/verify").json()
    assert report["ok"] and report["anchors_source"] == "chain"
    # The three entries, and the request audited after the anchor request itself answered.
    assert report["unanchored_entries"] == 4
    assert report["unanchored_seconds"] is not None and 0 <= report["unanchored_seconds"] < 3600


def test_anchoring_runs_every_few_seconds_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPONET_ANCHOR_INTERVAL_SECONDS", raising=False)
    assert 0 < Settings().anchor_interval_seconds <= 5


def test_anonymous_requests_stay_out_of_the_audit_chain(world: World, caplog: pytest.LogCaptureFixture) -> None:
    def entries() -> int:
        with world.ctx.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)

    before = entries()
    caplog.set_level(logging.INFO, logger="gateway.access")
    for i in range(50):
        assert world.client.post("/v1/wallets", json={"label": f"anon{i}"}).status_code == 401
    assert entries() == before
    logged = [r for r in caplog.records if r.name == "gateway.access" and "/v1/wallets" in r.getMessage()]
    assert len(logged) == 50
    metrics = world.client.get("/metrics").text
    assert 'reponet_gateway_http_requests_total{method="POST",route="/v1/wallets",status="401"} 50.0' in metrics
