"""The hash-chained audit log: every change recorded, tampering (edit, delete, reorder, truncate) detected."""

import json

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.audit import service as audit_service
from gateway.chain.memory import InMemoryChain
from gateway.db import audit_log
from gateway.db.models import AuditEntry
from gateway.db.session import make_engine, make_session_factory
from tests.gateway.conftest import Cast, World


def _fill(session: Session, n: int = 5) -> None:
    for i in range(n):
        audit_log.append(session, actor="user:x", action=f"act{i}", object_type="t", object_id=str(i), change={"i": i})
    session.commit()


@pytest.fixture
def session(any_db_url: str) -> Session:
    engine = make_engine(any_db_url)
    with make_session_factory(engine)() as s:
        yield s  # type: ignore[misc]
    engine.dispose()


def test_intact_log_verifies(session: Session) -> None:
    _fill(session)
    result = audit_log.verify(session)
    assert result.ok and result.entries == 5


def test_edit_detected(session: Session) -> None:
    _fill(session)
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 3).values(actor="user:someone-else"))
    session.commit()
    result = audit_log.verify(session)
    assert not result.ok and result.first_bad_sequence == 3 and "edited" in (result.reason or "")


def test_edit_with_recomputed_hash_detected_by_next_link(session: Session) -> None:
    _fill(session)
    row = session.get(AuditEntry, 2)
    assert row is not None
    row.action = "forged"
    row.entry_hash = audit_log.entry_hash(
        sequence=2,
        at=row.at,
        actor=row.actor,
        action="forged",
        object_type=row.object_type,
        object_id=row.object_id,
        change_digest=row.change_digest,
        prev_hash=row.prev_hash,
    )
    session.commit()
    result = audit_log.verify(session)
    assert not result.ok and result.first_bad_sequence == 3


def test_delete_detected(session: Session) -> None:
    _fill(session)
    session.execute(delete(AuditEntry).where(AuditEntry.sequence == 2))
    session.commit()
    result = audit_log.verify(session)
    assert not result.ok and result.first_bad_sequence == 2


def test_delete_last_entry_detected(session: Session) -> None:
    _fill(session)
    session.execute(delete(AuditEntry).where(AuditEntry.sequence == 5))
    session.commit()
    result = audit_log.verify(session)
    assert not result.ok and result.first_bad_sequence == 5


def test_reorder_detected(session: Session) -> None:
    _fill(session)
    rows = {r.sequence: r for r in session.execute(select(AuditEntry)).scalars()}
    a, b = rows[2], rows[3]
    fields = ("at", "actor", "action", "object_type", "object_id", "change_digest", "prev_hash", "entry_hash")
    values_a = {f: getattr(a, f) for f in fields}
    values_b = {f: getattr(b, f) for f in fields}
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 2).values(**values_b))
    session.execute(update(AuditEntry).where(AuditEntry.sequence == 3).values(**values_a))
    session.commit()
    result = audit_log.verify(session)
    assert not result.ok and result.first_bad_sequence == 2


def test_rewritten_tail_caught_by_anchor(session: Session) -> None:
    """Someone rewrites entries 3..5 consistently; the anchor on chain for entry 4 catches it."""
    _fill(session)
    chain = InMemoryChain()
    head = session.get(AuditEntry, 4)
    assert head is not None
    session.commit()  # the chain is never called inside a database transaction (gateway.chain.guard)
    chain.anchor(sequence=4, head_hash=bytes.fromhex(head.entry_hash))
    prev = session.get(AuditEntry, 2)
    assert prev is not None
    prev_hash = prev.entry_hash
    for seq in (3, 4, 5):
        row = session.get(AuditEntry, seq)
        assert row is not None
        row.action, row.prev_hash = "rewritten", prev_hash
        row.entry_hash = audit_log.entry_hash(
            sequence=seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            change_digest=row.change_digest,
            prev_hash=prev_hash,
        )
        prev_hash = row.entry_hash
    session.commit()
    assert audit_log.verify(session, chain_heads={}).ok  # without anchors a full rewrite is undetectable
    result = audit_service.verify(session, chain=chain)
    assert not result.ok and result.first_bad_sequence == 4 and "anchored" in (result.reason or "")


def test_state_changes_and_decisions_are_logged(world: World, cast: Cast) -> None:
    cast.a_approver.post("/v1/wallets", json={"label": "w"})
    cast.a_viewer.post("/v1/wallets", json={"label": "denied"})  # a refused request is recorded too
    entries = cast.officer1.get("/v1/audit/entries", params={"limit": 200}).json()["data"]
    actions = [e["action"] for e in entries]
    assert "wallet.created" in actions and "auth.login" in actions and "organization.created" in actions
    requests = [e for e in entries if e["action"] == "http.post" and e["object_id"] == "/v1/wallets"]
    assert {e["actor"] for e in requests} >= {f"user:{cast.a_approver.id}", f"user:{cast.a_viewer.id}"}
    assert cast.a_viewer.get("/v1/audit/entries").status_code == 403  # members do not read the operator's log
    verify = cast.officer1.get("/v1/audit/verify").json()
    assert verify["ok"] and verify["entries"] >= len(entries)


def test_anchor_on_demand_and_cli_verify_names_first_bad_entry(
    world: World, cast: Cast, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway import app, cli, config

    monkeypatch.setattr(app, "chain_from_settings", lambda settings: world.chain)  # the CLI reads the chain
    anchored = cast.officer1.post("/v1/audit/anchor")
    assert anchored.status_code == 201, anchored.text
    sequence = anchored.json()["sequence"]
    assert world.chain.anchors[sequence] == anchored.json()["head_hash"]
    assert cast.a_approver.post("/v1/audit/anchor").status_code == 403
    settings = world.ctx.settings
    for name, value in {
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": settings.jwt_secret,
        "REPONET_DATABASE_URL": settings.database_url,
        "REPONET_MASTER_KEY_FILE": str(settings.master_key_file),
    }.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    try:
        assert cli.main(["--json", "audit", "verify"]) == cli.ExitStatus.OK
        assert json.loads(capsys.readouterr().out)["anchors_checked"] == 1
        with world.ctx.sessions.begin() as session:
            session.execute(update(AuditEntry).where(AuditEntry.sequence == 7).values(object_id="tampered"))
        assert cli.main(["--json", "audit", "verify"]) == cli.ExitStatus.CHECK_FAILED
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] is False and report["first_bad_sequence"] == 7
        assert cli.main(["audit", "verify"]) == cli.ExitStatus.CHECK_FAILED
        assert "entry 7" in capsys.readouterr().out
    finally:
        config.get_settings.cache_clear()


def test_periodic_anchor_only_when_new_entries(world: World) -> None:
    with world.ctx.sessions() as session:
        first = audit_service.anchor_if_new(session, chain=world.chain)
        assert first is not None
        assert audit_service.anchor_if_new(session, chain=world.chain) is None  # nothing new since
