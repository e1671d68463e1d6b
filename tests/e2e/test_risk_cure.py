"""Cure tracking against our node, through the gateway: after a margin call the risk service reminds both parties
before the cure deadline; when the deadline passes uncured it marks the repo for default and prepares the close-out
(valuation, shortfall) for an approver to confirm, or, under the holder's ``auto`` standing instruction, declares
the default and closes out at once — once, even when the service dies between the gateway accepting the request
and recording it; a cure stops escalation; excess collateral goes back to the seller under its instruction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.custody.models import Consent
from gateway.db.models import Role
from gateway.risk.cure import CureStore, CureTracker, Kind
from gateway.risk.cure_models import RiskProposal
from gateway.risk.store import Store
from gateway.settlement_records.models import Settlement
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, deploy, start_chain
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import repo_state, settled, wait_for
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import Member
from tests.gateway.market import call, step_up

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS
B = 10**BOND_DECIMALS
STATUS, COLLATERAL = 8, 17
OPEN, MARGIN_CALLED, CLOSED_OUT = 1, 2, 5


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp_path: Path = tmp_path_factory.mktemp("risk-cure-node")
    for chain in start_chain("reponet-node", tmp_path):
        d = deploy(chain)
        for world in chain_world(d, tmp_path):
            env = Env.desk(d, world)
            admin, a_wallet, b_wallet = env.admin, env.a_wallet, env.b_wallet
            issue = {"token": d.addresses["cash"], "wallet": b_wallet["address"], "amount": "2000000"}
            settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 2_000_000 * B))
            yield env


def _key(env: Env, org: str, name: str) -> str:
    admin = env.world.user(org, Role.MEMBER_ADMIN, f"{name}-keyadmin")
    client = admin.post("/v1/clients", json={"kind": "api_key", "name": name, "scopes": ["repos:read", "risk:act"]})
    assert client.status_code == 201, client.text
    return str(client.json()["secret"])


def _instruct(env: Env, org: str, tag: str, **modes: str) -> dict[str, Any]:
    """A standing instruction drafted by one member admin and approved by another with a fresh TOTP code."""
    drafter = env.world.user(org, Role.MEMBER_ADMIN, f"{tag}-drafter")
    approver = env.world.user(org, Role.MEMBER_ADMIN, f"{tag}-approver")
    draft = call(drafter, "/v1/risk/instructions", {"remind_before_seconds": 3600, **modes})
    assert draft.status_code == 201, draft.text
    own = call(drafter, f"/v1/risk/instructions/{draft.json()['id']}/decision", {"approve": True})
    assert own.status_code in (401, 409), own.text  # four eyes (and no fresh TOTP code either)
    step_up(approver)
    done = call(approver, f"/v1/risk/instructions/{draft.json()['id']}/decision", {"approve": True})
    assert done.status_code == 200 and done.json()["status"] == "active", done.text
    return dict(done.json())


def _called(env: Env, *, cure_seconds: int, collateral: str = "104000") -> int:
    """A repo opened at par and margin-called by its holder after the price fell to 95."""
    env.price("100")
    repo_id = env.open_custodial(rate="0", collateral_amount=collateral, margin_cure_period_seconds=cure_seconds)
    env.price("95")
    settled(env.b_trader, call(env.b_trader, f"/v1/repos/{repo_id}/margin-call"))
    return repo_id


def _watched(env: Env, key: str, repo_id: int) -> dict[str, Any]:
    watch = wait_for(
        lambda: env.world.client.get("/v1/risk/watch", headers={"X-API-Key": key}).json(),
        lambda w: any(c["repo_id"] == repo_id for c in w["calls"]),
    )
    return dict(next(c for c in watch["calls"] if c["repo_id"] == repo_id))


def _proposals(env: Env, repo_id: int) -> list[RiskProposal]:
    with env.world.ctx.read_sessions() as session:
        return list(session.scalars(select(RiskProposal).where(RiskProposal.repo_id == repo_id)))


def _notices(member: Member, repo_id: int) -> list[str]:
    return [n["kind"] for n in member.get("/v1/risk/notices").json()["data"] if n["repo_id"] == repo_id]


def test_reminder_then_lapse_prepares_a_close_out_an_approver_confirms(env: Env, tmp_path: Path) -> None:
    world, d = env.world, env.d
    key = _key(env, "b", "risk-b1")
    repo_id = _called(env, cure_seconds=4)
    call_row = _watched(env, key, repo_id)
    tracker = CureTracker(world.client, Store(tmp_path / "risk.db"))

    made = tracker.tick("b", key)  # the deadline is within the reminder window: both parties are told
    assert [(i.kind, i.repo_id) for i in made] == [(Kind.REMIND, repo_id)]
    a_viewer = world.user("a", Role.VIEWER, "aviewer1")
    b_viewer = world.user("b", Role.VIEWER, "bviewer1")
    assert _notices(a_viewer, repo_id) == _notices(b_viewer, repo_id) == ["cure_reminder"]
    assert tracker.tick("b", key) == []  # reminded once
    assert _proposals(env, repo_id) == []

    d.advance(max(1, call_row["cure_deadline"] - d.now() + 1))
    made = tracker.tick("b", key)
    assert [(i.kind, i.repo_id) for i in made] == [(Kind.DEFAULT, repo_id)]
    [proposal] = _proposals(env, repo_id)
    assert (proposal.status, proposal.mode, proposal.kind) == ("proposed", "propose", "close_out")
    value = proposal.valuation
    # 104,000 nominal at 95 % = 98,800 against 100,000 owed (rate 0): a shortfall of 1,200
    assert (int(value["owed"]), int(value["collateral_value"])) == (100_000 * C, 98_800 * C)
    assert int(value["shortfall"]) == 1_200 * C and int(value["excess"]) == 0
    assert repo_state(d, repo_id)[STATUS] == MARGIN_CALLED  # only proposed: nothing on chain
    assert sorted(_notices(b_viewer, repo_id)) == ["call_lapsed", "cure_reminder"]
    assert tracker.tick("b", key) == []

    trader = call(env.b_trader, f"/v1/risk/proposals/{proposal.id}/confirm")
    assert trader.status_code == 403, trader.text  # a trader cannot confirm
    b_approver = world.user("b", Role.APPROVER, "bapprover1")
    step_up(b_approver)
    confirmed = call(b_approver, f"/v1/risk/proposals/{proposal.id}/confirm")
    assert confirmed.status_code == 202, confirmed.text
    done = b_approver.get(f"/v1/settlements/{confirmed.json()['settlement_id']}/wait?timeout=60").json()
    assert done["status"] == "final", done
    assert [s["label"] for s in done["steps"]] == ["default", "close_out"]
    assert repo_state(d, repo_id)[STATUS] == CLOSED_OUT
    assert int(d.engine.functions.shortfallOf(repo_id).call()) == 1_200 * C
    assert call(b_approver, f"/v1/risk/proposals/{proposal.id}/confirm").status_code == 409


class CrashAfterDefault(CureStore):
    """A state file whose process dies right after the gateway accepted the default, before recording it."""

    def mark(self, key: str, status: str, answer: str) -> None:
        found = self.get(key)
        if found is not None and found.kind is Kind.DEFAULT:
            raise SystemExit("killed between send and record")
        super().mark(key, status, answer)


def test_auto_instruction_closes_out_once_across_a_restart(env: Env, tmp_path: Path) -> None:
    world, d = env.world, env.d
    key = _key(env, "b", "risk-b2")
    instruction = _instruct(env, "b", "b2", close_out="auto")
    repo_id = _called(env, cure_seconds=3)
    call_row = _watched(env, key, repo_id)
    d.advance(max(1, call_row["cure_deadline"] - d.now() + 1))

    first = CureTracker(world.client, Store(tmp_path / "risk.db"))
    first.store = CrashAfterDefault(Store(tmp_path / "risk.db"))
    with pytest.raises(SystemExit):
        first.tick("b", key)
    [proposal] = _proposals(env, repo_id)  # the gateway took it: default and close-out queued, under the instruction
    assert (proposal.status, proposal.mode) == ("submitted", "auto")

    second = CureTracker(world.client, Store(tmp_path / "risk.db"))
    pending = second.store.pending("b")
    assert [(i.kind, i.repo_id) for i in pending] == [(Kind.DEFAULT, repo_id)]  # found in the state file
    made = second.tick("b", key)
    assert [(i.kind, i.repo_id) for i in made] == [(Kind.DEFAULT, repo_id)]  # re-sent under its key: replayed
    assert second.tick("b", key) == []
    [again] = _proposals(env, repo_id)
    assert again.id == proposal.id and again.settlement_id == proposal.settlement_id
    with world.ctx.read_sessions() as session:
        settlements = session.scalar(
            select(func.count()).where(Settlement.repo_id == repo_id, Settlement.kind == "risk_close_out")
        )
        consent = session.scalars(
            select(Consent).where(Consent.subject == f"risk-instruction/{instruction['id']}/close_out")
        ).one()
    assert settlements == 1
    assert consent.user_id == instruction["decided_by"] or str(consent.user_id) == instruction["decided_by"]
    b_trader = env.b_trader
    done = b_trader.get(f"/v1/settlements/{proposal.settlement_id}/wait?timeout=60").json()
    assert done["status"] == "final", done
    assert repo_state(d, repo_id)[STATUS] == CLOSED_OUT


def test_a_cure_stops_escalation(env: Env, tmp_path: Path) -> None:
    world, d = env.world, env.d
    key = _key(env, "b", "risk-b3")
    repo_id = _called(env, cure_seconds=15)
    call_row = _watched(env, key, repo_id)
    tracker = CureTracker(world.client, Store(tmp_path / "risk.db"))
    assert [i.kind for i in tracker.tick("b", key)] == [Kind.REMIND]

    # the service asks only for the member's own repos, and a default only once the deadline has passed
    a_key = _key(env, "a", "risk-a3")
    early = {"repo_id": repo_id, "cure_deadline": call_row["cure_deadline"]}
    assert world.client.post("/v1/risk/defaults", json=early, headers={"X-API-Key": a_key}).status_code == 404
    assert world.client.post("/v1/risk/reminders", json=early, headers={"X-API-Key": a_key}).status_code == 404
    assert world.client.post("/v1/risk/defaults", json=early, headers={"X-API-Key": key}).status_code == 409
    sold = {"repo_id": repo_id, "updated_block": call_row["updated_block"]}
    assert world.client.post("/v1/risk/excess-returns", json=sold, headers={"X-API-Key": key}).status_code == 404

    step_up(env.a_trader)  # the seller cures: 10,000 nominal more at 95 % less 2 % covers the call
    settled(env.a_trader, call(env.a_trader, f"/v1/repos/{repo_id}/margin", json={"collateral_amount": "10000"}))
    wait_for(
        lambda: world.client.get("/v1/risk/watch", headers={"X-API-Key": key}).json(),
        lambda w: all(c["repo_id"] != repo_id for c in w["calls"]),
    )
    d.advance(max(1, call_row["cure_deadline"] - d.now() + 1))
    assert tracker.tick("b", key) == []
    assert _proposals(env, repo_id) == []
    assert repo_state(d, repo_id)[STATUS] == OPEN
    assert {i.kind for i in tracker.store.intents() if i.repo_id == repo_id} == {Kind.REMIND}


def test_excess_goes_back_to_the_seller_under_its_instruction(env: Env, tmp_path: Path) -> None:
    world, d = env.world, env.d
    env.price("100")
    repo_id = env.open_custodial(rate="0", collateral_amount="100500")  # 100,500 x 0.98 = 98,490: no excess
    key = _key(env, "a", "risk-a1")
    tracker = CureTracker(world.client, Store(tmp_path / "risk.db"))
    assert all(i.repo_id != repo_id for i in tracker.tick("a", key))  # proposes only: no instruction yet
    _instruct(env, "a", "a1", excess_return="auto")
    par = wait_for(
        lambda: world.client.get("/v1/risk/watch", headers={"X-API-Key": key}).json(),
        lambda w: any(s["repo_id"] == repo_id and s["price"] for s in w["sold"]),
    )
    at_par = next(int(s["price"]) for s in par["sold"] if s["repo_id"] == repo_id)
    env.price("110")  # 100,500 x 1.10 x 0.98 = 108,339: about 8,339 of excess
    wait_for(  # the gateway has followed the new price (not the old one still showing)
        lambda: world.client.get("/v1/risk/watch", headers={"X-API-Key": key}).json(),
        lambda w: any(s["repo_id"] == repo_id and s["price"] and int(s["price"]) > at_par for s in w["sold"]),
    )
    before = env.bond_of(env.a_wallet["address"])
    made = [i for i in tracker.tick("a", key) if i.repo_id == repo_id]
    assert [i.kind for i in made] == [Kind.EXCESS]
    [proposal] = _proposals(env, repo_id)
    assert (proposal.status, proposal.mode, proposal.kind) == ("submitted", "auto", "excess_return")
    amount = int(proposal.valuation["collateral_amount"])
    # what keeps the repo covered: (8,339 − 10 of cushion) / (1.10 x 0.98) ≈ 7,726 nominal
    assert 7_700 * B < amount < 7_740 * B
    done = env.a_trader.get(f"/v1/settlements/{proposal.settlement_id}/wait?timeout=60").json()
    assert done["status"] == "final", done
    assert env.bond_of(env.a_wallet["address"]) == before + amount
    assert repo_state(d, repo_id)[COLLATERAL] == 100_500 * B - amount
    assert int(d.engine.functions.exposure(repo_id).call()) <= 0
