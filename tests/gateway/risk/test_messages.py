"""Risk messages reach every API worker and the member's webhooks: a snapshot one worker took is published by each
worker's tail on its own bus, once, to the member alone; a notice (a cure reminder) goes out the same way with the
shape docs/asyncapi.json declares; a subscribed webhook gets one delivery per message, queued with it; old
messages are pruned. The exposure history keeps one point per pair and minute, prunes expired ones, and answers
the member's own points in coarser buckets on request; per repo too, to the repo's parties only."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gateway.db.models import Role
from gateway.events.bus import EventBus
from gateway.events.models import WebhookDelivery, WebhookEndpoint
from gateway.risk import cure_service, history
from gateway.risk.messages import RETENTION, RiskMessage, RiskTail
from gateway.settlement_records.models import RepoRecord
from tests.gateway.conftest import Cast, World

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"
CP = "00000000-0000-0000-0000-0000000000b0"


class Worker(EventBus):
    """One API worker's bus, recording what its tail publishes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[dict[str, Any], set[uuid.UUID]]] = []

    def publish(self, event: dict[str, Any], organizations: set[uuid.UUID]) -> None:
        self.seen.append((event, organizations))


def _risk_key(cast: Cast, admin: str = "a_admin") -> dict[str, str]:
    body = {"kind": "api_key", "name": "r", "scopes": ["repos:read", "risk:act"]}
    made = getattr(cast, admin).post("/v1/clients", json=body)
    assert made.status_code == 201, made.text
    return {"X-API-Key": made.json()["secret"]}


def _snapshot(net: str) -> dict[str, Any]:
    return {"pairs": [{"counterparty_id": CP, "net": net, "repos": 1}], "calls_due": [], "cure_deadlines": []}


def test_every_worker_shows_a_snapshot_once_and_webhooks_get_it(world: World, cast: Cast) -> None:
    with world.ctx.sessions.begin() as session:
        session.add(
            WebhookEndpoint(
                organization_id=world.orgs["a"], url="https://hooks.a.example/risk", secret_enc=b"x",
                event_types=["risk.exposure", "risk.cure_reminder"], created_by="test",
            )
        )  # fmt: skip
    one, two = Worker(), Worker()
    tails = [RiskTail(world.ctx.read_sessions, one), RiskTail(world.ctx.read_sessions, two)]
    answer = world.client.post("/v1/risk/exposure", json=_snapshot("-125"), headers=_risk_key(cast))
    assert answer.status_code == 204, answer.text
    assert [t.run_once() for t in tails] == [1, 1]
    assert [t.run_once() for t in tails] == [0, 0]  # once each
    for worker in (one, two):
        ((event, orgs),) = worker.seen
        assert orgs == {world.orgs["a"]} and event["type"] == "risk.exposure" and event["pairs"][0]["net"] == "-125"
    with world.ctx.read_sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.event_type == "risk.exposure" and delivery.payload["data"]["pairs"][0]["net"] == "-125"

    with world.ctx.sessions.begin() as session:  # a notice (what the cure routes write) goes out the same way
        cure_service.notice(
            session, organization_id=world.orgs["a"], repo_id=7, kind="cure_reminder", key="r-7-1",
            detail={"cure_deadline": "1900000000"},
        )  # fmt: skip
    assert tails[1].run_once() == 1
    event = two.seen[-1][0]
    declared = json.loads(DOC.read_text())["components"]["messages"]["riskNotice"]["payload"]
    assert event["type"] in declared["properties"]["type"]["enum"]
    assert set(event) == set(declared["properties"]) == set(declared["required"])
    assert event["repo_id"] == 7 and event["detail"] == {"cure_deadline": "1900000000"}
    with world.ctx.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2

    with world.ctx.sessions.begin() as session:  # an old message is pruned by the next write
        for row in session.scalars(select(RiskMessage)):
            row.created_at = datetime.now(UTC) - RETENTION - timedelta(minutes=1)
    world.client.post("/v1/risk/exposure", json=_snapshot("-120"), headers=_risk_key(cast))
    with world.ctx.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(RiskMessage)) == 1


def test_history_one_point_a_minute_pruned_and_only_the_members_own(world: World, cast: Cast) -> None:
    cp = uuid.UUID(CP)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with world.ctx.sessions.begin() as session:
        for minute, net in ((0, 10), (0, 11), (1, 20), (2, 30), (61, 40)):  # two reports in minute 0: the last
            history.record(
                session, organization_id=world.orgs["a"], points=[history.PairPoint(cp, net, 1)], repos=[],
                now=start + timedelta(minutes=minute, seconds=5),
            )  # fmt: skip
    window = {"since": start.isoformat(), "until": (start + timedelta(hours=2)).isoformat()}
    got = cast.a_viewer.get("/v1/risk/exposure/history", params=window)
    assert got.status_code == 200, got.text
    assert [p["net_units"] for p in got.json()["data"]] == ["11", "20", "30", "40"]
    hourly = cast.a_viewer.get("/v1/risk/exposure/history", params={**window, "bucket_seconds": 3600}).json()
    assert [p["net_units"] for p in hourly["data"]] == ["30", "40"]  # the last value of each hour
    assert cast.b_viewer.get("/v1/risk/exposure/history", params=window).json()["data"] == []
    with world.ctx.sessions.begin() as session:  # a point past the retention is pruned by a later write
        later = start + timedelta(days=history.RETENTION_DAYS, minutes=2)
        history.record(
            session, organization_id=world.orgs["a"], points=[history.PairPoint(cp, 50, 1)], repos=[], now=later
        )
    with world.ctx.read_sessions() as session:
        kept = session.scalars(select(history.ExposurePoint.net_units).order_by(history.ExposurePoint.bucket)).all()
    assert kept == ["30", "40", "50"]


def test_a_repos_exposure_history_is_its_holders_and_shown_to_its_parties_only(world: World, cast: Cast) -> None:
    seller, buyer = "0x" + "a1" * 20, "0x" + "b2" * 20
    with world.ctx.sessions.begin() as session:  # repo 9: A sells, B lends and holds the position
        session.add(
            RepoRecord(
                repo_id=9, seller=seller, buyer=buyer, holder=buyer, seller_org_id=world.orgs["a"],
                holder_org_id=world.orgs["b"], cash_token="0x" + "c3" * 20, collateral_token="0x" + "d4" * 20,
                collateral_amount="1100", purchase_price=str(10**12), rate=str(4 * 10**16), day_count_basis=360,
                haircut_bps=200, status="open", opened_at=1, maturity=2, period_start=1, updated_block=8,
            )
        )  # fmt: skip
    b_key = _risk_key(cast, "b_admin")
    for exposure in ("-40", "15"):  # two reports within the minute: the bucket keeps the last
        body = {**_snapshot(exposure), "repos": [{"repo_id": 9, "exposure": exposure}]}
        assert world.client.post("/v1/risk/exposure", json=body, headers=b_key).status_code == 204
    holders = cast.b_viewer.get("/v1/risk/repos/9/exposure/history")
    assert holders.status_code == 200, holders.text
    assert [p["exposure_units"] for p in holders.json()["data"]] == ["15"]
    sellers = cast.a_viewer.get("/v1/risk/repos/9/exposure/history")
    assert sellers.status_code == 200 and sellers.json()["data"] == []  # the seller reported nothing on it
    world.org("c", name="Fund C")
    stranger = world.user("c", Role.VIEWER, "c-viewer")
    assert stranger.get("/v1/risk/repos/9/exposure/history").status_code == 404
    assert cast.b_viewer.get("/v1/risk/repos/10/exposure/history").status_code == 404  # no such repo
    assert cast.b_viewer.get("/v1/risk/repos/0/exposure/history").status_code == 422
    # A's key reports on a repo A does not hold (it sells it) and on one nobody has: nothing is kept for A
    a_key = _risk_key(cast)
    body = {**_snapshot("1"), "repos": [{"repo_id": 9, "exposure": "7"}, {"repo_id": 77, "exposure": "8"}]}
    assert world.client.post("/v1/risk/exposure", json=body, headers=a_key).status_code == 204
    assert cast.a_viewer.get("/v1/risk/repos/9/exposure/history").json()["data"] == []
    with world.ctx.read_sessions() as session:
        kept = session.scalars(select(history.RepoExposurePoint.repo_id)).all()
    assert kept == [9]  # B's one point
    bad = {**_snapshot("1"), "repos": [{"repo_id": 9, "exposure": "1e9"}]}
    assert world.client.post("/v1/risk/exposure", json=bad, headers=b_key).status_code == 422
