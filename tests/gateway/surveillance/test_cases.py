"""Alerts and cases through the API: the service's key (operator, two scopes) reads the feed and raises alerts;
a member's key with the same scopes is refused; an alert opens a case and the same key again changes nothing;
analysts assign, comment, attach evidence, escalate; a high-severity close needs a second person; every step is in
the audit log; the SAR file carries the case."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.clients import service as clients
from gateway.clients.schemas import ClientCreate
from gateway.db.models import AuditEntry, ClientKind
from gateway.exceptions import PermissionDenied
from gateway.surveillance.grant import SCOPES, grant
from tests.gateway.conftest import Cast, World


def service_key(world: World, cast: Cast, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"gateway_url": "https://gateway.test", "api_key": None}))
    with world.ctx.sessions() as session:
        grant(session, config_path=config, officer_email=cast.officer1.user.email, days=1)
    return {"X-API-Key": json.loads(config.read_text())["api_key"]}


def trade(trade_id: str, sequence: int) -> dict[str, Any]:
    """An agreed trade as the feed gives it, cited as evidence."""
    return {
        "trade_id": trade_id,
        "seller_org": "member-a",
        "buyer_org": "member-b",
        "seller_wallet": "0x" + "a1" * 20,
        "buyer_wallet": "0x" + "b2" * 20,
        "cash_token": "0x" + "c3" * 20,
        "cash_decimals": 6,
        "collateral_token": "0x" + "d4" * 20,
        "purchase_price": "1000000000",
        "collateral_amount": "1100000",
        "rate": "35000000000000000",
        "haircut_bps": 200,
        "start_time": 1_796_400_000,
        "maturity": 1_796_486_400,
        "feed_sequence": sequence,
    }


def alert(**changes: Any) -> dict[str, Any]:
    return {
        "key": f"rule:wash_trade:{uuid.uuid4()}",
        "source": "rule",
        "detector": "wash_trade",
        "typology": "wash",
        "severity": "high",
        "score": 0.99,
        "subject": "member-a",
        "reason": "t2 reverses t1",
        "top_features": [],
        "evidence": {"trades": [trade("t1", 1), trade("t2", 2)], "feed_sequence": 2},
        "observed_at": "2026-12-04T20:00:00+00:00",
        **changes,
    }


def test_the_service_key_reads_the_feed_and_raises_alerts_a_members_is_refused(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    key = service_key(world, cast, tmp_path)
    page = world.client.get("/v1/surveillance/feed", params={"after": 0}, headers=key)
    assert page.status_code == 200, page.text
    sequences = [i["sequence"] for i in page.json()["data"]]
    assert sequences == sorted(sequences) and sequences
    assert "client.created" in {i["action"] for i in page.json()["data"]}
    later = world.client.get("/v1/surveillance/feed", params={"after": sequences[-1]}, headers=key).json()
    assert later["data"] == [] and later["next_cursor"] is None
    assert world.client.get("/v1/surveillance/cases", headers=key).status_code == 403  # not a case worker

    with world.ctx.sessions() as session, pytest.raises(PermissionDenied):  # a member's key never holds them
        clients.create_client(
            session,
            actor="test",
            organization_id=world.orgs["a"],
            user_id=cast.a_admin.user.id,
            data=ClientCreate(kind=ClientKind.API_KEY, name="sneaky", scopes=SCOPES, expires_in_days=1),
        )
    member_reader = {
        "X-API-Key": cast.a_admin.post(
            "/v1/clients", json={"kind": "api_key", "name": "r", "scopes": ["trades:read"]}
        ).json()["secret"]
    }
    assert world.client.get("/v1/surveillance/feed", headers=member_reader).status_code == 403


def test_an_alert_opens_a_case_worked_to_a_four_eyes_close_and_a_sar(world: World, cast: Cast, tmp_path: Path) -> None:
    key = service_key(world, cast, tmp_path)
    body = alert()
    first = world.client.post("/v1/surveillance/alerts", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert first.json()["new_case"] and first.json()["new_alert"]
    again = world.client.post("/v1/surveillance/alerts", json=body, headers=key).json()
    assert not again["new_alert"] and again["case_id"] == first.json()["case_id"]
    joined = world.client.post("/v1/surveillance/alerts", json=alert(severity="low"), headers=key).json()
    assert joined["new_alert"] and not joined["new_case"] and joined["case_id"] == first.json()["case_id"]
    case = first.json()["case_id"]
    one, two = cast.officer1, cast.officer2

    assert one.post(f"/v1/surveillance/cases/{case}/assign", json={"assignee": str(two.id)}).status_code == 200
    assert cast.a_admin.get(f"/v1/surveillance/cases/{case}").status_code == 403  # a member sees no cases
    bad = one.post(f"/v1/surveillance/cases/{case}/assign", json={"assignee": str(cast.a_admin.id)})
    assert bad.status_code == 400, bad.text
    assert one.post(f"/v1/surveillance/cases/{case}/comments", json={"text": "same desk both sides"}).status_code == 200
    digest = hashlib.sha256(b"chat log").hexdigest()
    evidence = {"name": "chat.txt", "uri": "s3://evidence/chat.txt", "sha256": digest}
    assert one.post(f"/v1/surveillance/cases/{case}/evidence", json=evidence).status_code == 200
    assert one.post(f"/v1/surveillance/cases/{case}/escalate", json={"reason": "MLRO"}).status_code == 200

    requested = one.post(f"/v1/surveillance/cases/{case}/close", json={"reason": "reported"})
    assert requested.json()["status"] == "close_requested"
    assert one.post(f"/v1/surveillance/cases/{case}/close", json={"reason": "again"}).status_code == 403
    closed = two.post(f"/v1/surveillance/cases/{case}/close", json={"reason": "agree"})
    assert closed.json()["status"] == "closed", closed.text
    assert one.post(f"/v1/surveillance/cases/{case}/comments", json={"text": "late"}).status_code == 409

    sar = one.post(f"/v1/surveillance/cases/{case}/sar")
    assert sar.status_code == 200 and "attachment" in sar.headers["content-disposition"]
    report = sar.json()
    assert report["format"] == "reponet-sar/1" and report["case"]["status"] == "closed"
    assert [t["trade_id"] for t in report["activity"]["trades"]] == ["t1", "t2"]
    assert report["evidence"][0]["sha256"] == digest and len(report["alerts"]) == 2
    with world.ctx.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == case)))
    assert {
        "surveillance.case.opened",
        "surveillance.case.assigned",
        "surveillance.case.comment",
        "surveillance.case.evidence",
        "surveillance.case.escalated",
        "surveillance.case.close_requested",
        "surveillance.case.closed",
        "surveillance.case.sar",
    } <= actions


def test_a_low_case_closes_with_one_person(world: World, cast: Cast, tmp_path: Path) -> None:
    key = service_key(world, cast, tmp_path)
    case = world.client.post("/v1/surveillance/alerts", json=alert(severity="low", subject="b"), headers=key).json()
    closed = cast.officer1.post(f"/v1/surveillance/cases/{case['case_id']}/close", json={"reason": "explained"})
    assert closed.json()["status"] == "closed"


def test_alerts_and_case_changes_reach_only_the_operators_webhooks(world: World, cast: Cast, tmp_path: Path) -> None:
    """``surveillance.alert`` and ``surveillance.case`` are delivered to the operator's endpoints, once per change;
    a member's endpoint subscribed to the same types gets nothing (cases name the member under watch)."""
    from gateway.events.models import WebhookDelivery, WebhookEndpoint

    types = ["surveillance.alert", "surveillance.case"]
    with world.ctx.sessions() as session:
        ours = WebhookEndpoint(
            organization_id=world.orgs["op"], url="https://hooks.op.example/s", secret_enc=b"x",
            event_types=types, created_by="test",
        )  # fmt: skip
        theirs = WebhookEndpoint(
            organization_id=world.orgs["a"], url="https://hooks.a.example/s", secret_enc=b"x",
            event_types=types, created_by="test",
        )  # fmt: skip
        session.add_all([ours, theirs])
        session.commit()
        ours_id, theirs_id = ours.id, theirs.id
    key = service_key(world, cast, tmp_path)
    body = alert()
    first = world.client.post("/v1/surveillance/alerts", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert world.client.post("/v1/surveillance/alerts", json=body, headers=key).status_code == 201  # same key
    case = first.json()["case_id"]
    keyed = {"Idempotency-Key": str(uuid.uuid4())}  # as the CLI sends: the answer is stored in the change's transaction
    comment = world.client.post(
        f"/v1/surveillance/cases/{case}/comments", json={"text": "look"}, headers={**cast.officer1.headers, **keyed}
    )
    assert comment.status_code == 200, comment.text

    with world.ctx.sessions() as session:
        delivered = session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.event_type, WebhookDelivery.message_id)
        ).all()
    ours_sent = sorted((kind, message) for endpoint, kind, message in delivered if endpoint == ours_id)
    assert [kind for kind, _ in ours_sent] == ["surveillance.alert", "surveillance.case", "surveillance.case"]
    assert len({message for _, message in ours_sent}) == 3  # the repeated alert added nothing
    assert not [row for row in delivered if row[0] == theirs_id]


def test_alerts_and_case_changes_are_live_on_the_operators_stream_only(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    from gateway.events.bus import EventBus
    from tests.gateway.market import hub_of

    hub_of(world).bus = EventBus()
    with world.ctx.sessions() as session:  # an operator key that reads the stream (no operator role holds it)
        watcher = clients.create_client(
            session,
            actor="test",
            organization_id=world.orgs["op"],
            user_id=cast.officer1.user.id,
            data=ClientCreate(kind=ClientKind.API_KEY, name="watch", scopes=["events:read"], expires_in_days=1),
        )
        session.commit()
    key = service_key(world, cast, tmp_path)
    with (
        world.client.websocket_connect("/v1/stream", headers={"X-API-Key": watcher.secret}) as ops,
        world.client.websocket_connect("/v1/stream", headers=cast.a_viewer.headers) as member,
    ):
        assert ops.receive_json()["type"] == "subscribed" and member.receive_json()["type"] == "subscribed"
        raised = world.client.post("/v1/surveillance/alerts", json=alert(), headers=key)
        assert raised.status_code == 201, raised.text
        case = raised.json()["case_id"]
        first, second = ops.receive_json(), ops.receive_json()
        assert first["type"] == "surveillance.alert" and first["alert"]["case_id"] == case
        assert second["type"] == "surveillance.case" and second["change"] == "opened"
        assert cast.officer1.post(f"/v1/surveillance/cases/{case}/escalate", json={"reason": "MLRO"}).status_code == 200
        escalated = ops.receive_json()
        assert escalated["type"] == "surveillance.case" and escalated["case"]["status"] == "escalated"
        hub_of(world).bus.publish({"id": 9, "type": "repo.Opened"}, {world.orgs["a"]})
        assert member.receive_json()["id"] == 9  # the member's stream carried none of it
