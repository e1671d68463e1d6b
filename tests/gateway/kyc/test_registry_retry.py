"""A registry write the node refused is sent again on compliance's word: POST
/v1/kyc/registry-settlements/{id}/retry (KYC review, step-up, Idempotency-Key) queues a new outbox settlement
with the failed one's steps, linked to it, and audited. Only a failed registry write, once, and only while its
decision stands (a freeze retried after the member was unfrozen would freeze it again)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from gateway.db.models import AuditEntry, Role
from gateway.settlement_records.models import ChainStep, Settlement
from tests.gateway.kyc.test_registry_outbox import Outbox, _approve, _steps, outbox, settle
from tests.gateway.market import call, step_up

__all__ = ["outbox"]  # the fixture, shared with the outbox's own tests
REFUSAL = {"code": -32000, "message": "execution reverted: AccessControlUnauthorizedAccount"}


def _failed_freeze(box: Outbox) -> tuple[Any, str]:
    """A frozen member whose freeze the node refused (the KYC agent lacked its role)."""
    _, seen = _approve(box)
    assert settle(box, seen["decision"]["settlement_id"]) == "final"
    officer = seen["officer"]
    box.node.refusal = REFUSAL
    frozen = officer.post(f"/v1/organizations/{box.world.orgs['a']}/kyc/freeze", json={"reason": "test"})
    assert frozen.status_code == 200, frozen.text
    failed = frozen.json()["settlement_id"]
    assert settle(box, failed) == "failed"
    box.node.refusal = None  # the cause fixed (the role granted)
    return officer, failed


def test_a_failed_freeze_is_sent_again_once_and_audited(outbox: Outbox) -> None:
    officer, failed = _failed_freeze(outbox)
    step_up(officer)
    retried = call(officer, f"/v1/kyc/registry-settlements/{failed}/retry")
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert body["kind"] == "kyc_freeze" and body["status"] == "pending" and body["id"] != failed
    [old], [new] = _steps(outbox, failed), _steps(outbox, body["id"])
    assert (new.to, new.data, new.sender) == (old.to, old.data, outbox.kyc_agent.address)
    assert settle(outbox, body["id"]) == "final"
    with outbox.world.ctx.read_sessions() as session:
        row = session.get(Settlement, uuid.UUID(body["id"]))
        assert row is not None and row.retry_of == uuid.UUID(failed)
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "chain.kyc_freeze.retried")).one()
        assert audited.actor == f"user:{officer.id}" and audited.object_id == str(outbox.world.orgs["a"])

    again = call(officer, f"/v1/kyc/registry-settlements/{failed}/retry")  # a new key: refused, not queued twice
    assert again.status_code == 409 and "already sent again" in again.json()["detail"], again.text
    final = call(officer, f"/v1/kyc/registry-settlements/{body['id']}/retry")
    assert final.status_code == 409 and "final" in final.json()["detail"], final.text


def test_a_retry_with_the_same_idempotency_key_answers_the_first_answer(outbox: Outbox) -> None:
    officer, failed = _failed_freeze(outbox)
    step_up(officer)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/kyc/registry-settlements/{failed}/retry"
    first = officer.client.post(path, headers={**officer.headers, **key})
    second = officer.client.post(path, headers={**officer.headers, **key})
    assert first.status_code == second.status_code == 202, (first.text, second.text)
    assert first.json()["id"] == second.json()["id"]
    with outbox.world.ctx.read_sessions() as session:
        assert len(list(session.scalars(select(Settlement).where(Settlement.kind == "kyc_freeze")))) == 2


def test_a_freeze_the_member_no_longer_has_is_not_sent_again(outbox: Outbox) -> None:
    officer, failed = _failed_freeze(outbox)
    step_up(officer)
    unfrozen = call(officer, f"/v1/organizations/{outbox.world.orgs['a']}/kyc/unfreeze", json={"reason": "cleared"})
    assert unfrozen.status_code == 200, unfrozen.text
    refused = call(officer, f"/v1/kyc/registry-settlements/{failed}/retry")
    assert refused.status_code == 409 and "no longer stands" in refused.json()["detail"], refused.text
    with outbox.world.ctx.read_sessions() as session:
        assert not list(session.scalars(select(Settlement).where(Settlement.retry_of.is_not(None))))


def test_only_compliance_retries_and_only_registry_writes(outbox: Outbox) -> None:
    officer, failed = _failed_freeze(outbox)
    admin = outbox.world.user("op", Role.OPERATOR_ADMIN, "adm")
    step_up(admin)
    assert call(admin, f"/v1/kyc/registry-settlements/{failed}/retry").status_code == 403
    member = outbox.world.user("a", Role.MEMBER_ADMIN, "ma")
    step_up(member)
    assert call(member, f"/v1/kyc/registry-settlements/{failed}/retry").status_code == 403
    anchored = officer.post("/v1/audit/anchor")
    assert anchored.status_code == 201, anchored.text
    step_up(officer)
    not_registry = call(officer, f"/v1/kyc/registry-settlements/{anchored.json()['settlement_id']}/retry")
    assert not_registry.status_code == 404, not_registry.text
    with outbox.world.ctx.read_sessions() as session:
        assert session.scalars(select(ChainStep).where(ChainStep.settlement_id == uuid.UUID(failed))).one()
