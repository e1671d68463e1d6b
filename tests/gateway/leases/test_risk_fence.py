"""The risk service's cure writes are fenced like its margin calls: a deposed leader's reminder, default or excess
offer carrying the old X-Lease-Token is refused (409 stale-lease) and writes nothing; the current holder's passes the
fence; and the service's cure tracker sends its member's token with each of them."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from gateway.chain.bindings.engine import RepoStatus
from gateway.risk.cure import CureTracker, Kind
from gateway.risk.cure_models import RiskNotice
from gateway.risk.store import Store
from gateway.settlement_records.models import RepoRecord
from tests.gateway.conftest import Cast, World
from tests.gateway.leases.test_leases import lapse

ADDRESS = "0x" + "11" * 20


def _risk_key(cast: Cast) -> dict[str, str]:
    made = cast.a_admin.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": ["risk:act"]})
    assert made.status_code == 201, made.text
    return {"X-API-Key": str(made.json()["secret"])}


def _second_leader(world: World, key: dict[str, str]) -> None:
    """Two instances led in turn: token 1 is the deposed leader's, token 2 the current one's."""
    for holder in ("r1", "r2"):
        lapse(world, "risk")
        assert world.client.post("/v1/leases/risk", json={"holder": holder}, headers=key).status_code == 200


def _called_repo(world: World, cast: Cast) -> int:
    """A repo the indexer saw margin-called, held by member A (the reminder reads only the indexer's copy)."""
    with world.ctx.sessions() as session:
        holder = cast.a_admin.user.organization_id
        seller = cast.b_admin.user.organization_id
        session.add(
            RepoRecord(
                repo_id=7001, seller=ADDRESS, buyer=ADDRESS, holder=ADDRESS, seller_org_id=seller,
                holder_org_id=holder, cash_token=ADDRESS, collateral_token=ADDRESS, collateral_amount="1",
                purchase_price="1", rate="0", day_count_basis=360, haircut_bps=0, status=RepoStatus.MARGIN_CALLED.value,
                opened_at=1, maturity=2, period_start=1, cure_deadline=99, margin_call_outstanding="5",
            )
        )  # fmt: skip
        session.commit()
    return 7001


def test_a_deposed_risk_leaders_cure_writes_are_refused(world: World, cast: Cast) -> None:
    key = _risk_key(cast)
    _second_leader(world, key)
    repo_id = _called_repo(world, cast)
    reminder = {"repo_id": repo_id, "cure_deadline": 99}
    stale = world.client.post("/v1/risk/reminders", json=reminder, headers={**key, "X-Lease-Token": "1"})
    assert stale.status_code == 409 and "stale-lease" in stale.json()["type"], stale.text
    with world.ctx.sessions() as session:
        assert session.scalars(select(RiskNotice).where(RiskNotice.repo_id == repo_id)).all() == []
    for path, body in (
        ("/v1/risk/defaults", {"repo_id": repo_id, "cure_deadline": 99}),
        ("/v1/risk/excess-returns", {"repo_id": repo_id, "updated_block": 0}),
    ):
        refused = world.client.post(path, json=body, headers={**key, "X-Lease-Token": "1"})
        assert refused.status_code == 409 and "stale-lease" in refused.json()["type"], (path, refused.text)
    current = world.client.post("/v1/risk/reminders", json=reminder, headers={**key, "X-Lease-Token": "2"})
    assert current.status_code == 201, current.text


def test_the_cure_tracker_sends_its_members_lease_token(tmp_path: Path) -> None:
    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(201, json={})

    http = httpx.Client(base_url="https://gateway", transport=httpx.MockTransport(answer))
    store = Store(tmp_path / "risk.db")
    try:
        tracker = CureTracker(http, store, lambda member: {"X-Lease-Token": "4"} if member == "a" else {})
        tracker.store.intend("a", Kind.REMIND, 7, 99)
        (intent,) = tracker.store.pending("a")
        assert tracker._send("key", intent)
        assert seen[0]["X-Lease-Token"] == "4" and seen[0]["Idempotency-Key"] == intent.key
    finally:
        store.close()
        http.close()
