"""The risk service against our node, through the gateway: a price fall alone produces exactly the margin calls
the pair's agreement implies (no call at threshold + minimum transfer exactly, a call one smallest unit above),
only under the lender's standing instruction, and none twice when the service dies between sending a call and
recording it and a new one resumes from its state file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.db.models import Role
from gateway.leases.client import Lease
from gateway.risk.exposure import Method, RepoValue, repo_exposure
from gateway.risk.store import Store
from gateway.risk.watcher import MemberKey, Watcher
from gateway.settlement_records.models import RepoEvent
from tests.e2e.chains import CASH_DECIMALS, deploy, start_chain
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import settled, wait_for
from tests.e2e.worlds import chain_world
from tests.gateway.market import call

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp_path: Path = tmp_path_factory.mktemp("risk-node")
    for chain in start_chain("reponet-node", tmp_path):
        d = deploy(chain)
        for world in chain_world(d, tmp_path):
            env = Env.desk(d, world)
            admin, a_wallet, b_wallet = env.admin, env.a_wallet, env.b_wallet
            issue = {"token": d.addresses["cash"], "wallet": b_wallet["address"], "amount": "2000000"}
            settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 2_000_000 * 10**2))
            yield env


class CrashAfterSend(Store):
    """A store whose process dies right after the gateway accepted a call, before recording it."""

    def mark(self, key: str, status: str, answer: str) -> None:
        raise SystemExit("killed between send and record")


def _repo_inputs(env: Env, key: dict[str, str]) -> list[dict[str, Any]]:
    answer = env.world.client.get("/v1/risk/repos", headers=key)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def _net(rows: list[dict[str, Any]]) -> int:
    total = 0
    for r in rows:
        value = RepoValue(
            int(r["repo_id"]), "L", "B", int(r["repurchase_price"]), int(r["collateral_amount"]), int(r["price"]),
            int(r["haircut_bps"]), int(r["cash_margin"]),
        )  # fmt: skip
        total += repo_exposure(value, Method.B)
    return total


def _agree(env: Env, b_approver: Any, a_approver: Any, *, threshold: int, mta: int, base: str | None = None) -> str:
    body = {
        "counterparty_id": str(env.world.orgs["a"]),
        "base_currency": base or env.cash,
        "threshold": str(Decimal(threshold) / C),
        "minimum_transfer": str(Decimal(mta) / C),
        "rounding": "0",
        "method": "B",
        "cure_period_seconds": 3600,
        "auto_call": True,  # B lends cash: its standing instruction
    }
    proposed = call(b_approver, "/v1/risk/agreements", body)
    assert proposed.status_code == 201, proposed.text
    approved = call(a_approver, f"/v1/risk/agreements/{proposed.json()['id']}/approve", {})
    assert approved.status_code == 200, approved.text
    return str(proposed.json()["id"])


def _calls_on_chain(env: Env, repo_id: int) -> int:
    with env.world.ctx.read_sessions() as session:
        return int(
            session.scalar(select(func.count()).where(RepoEvent.repo_id == repo_id, RepoEvent.name == "MarginCalled"))
            or 0
        )


def test_price_fall_calls_exactly_at_the_edge_and_once_across_a_restart(env: Env, tmp_path: Path) -> None:
    world = env.world
    env.price("100")
    # two repos, rate 0 (RP = PP exactly, so the edge is exact); the second is the less collateralized
    repos = [env.open_custodial(rate="0", collateral_amount=amount) for amount in ("106500", "104000")]
    b_admin = world.user("b", Role.MEMBER_ADMIN, "badmin")
    b_approver = world.user("b", Role.APPROVER, "bapprover")
    a_approver = world.user("a", Role.APPROVER, "aapprover")
    client = b_admin.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": ["repos:read", "risk:act"]})
    assert client.status_code == 201, client.text
    key = {"X-API-Key": client.json()["secret"]}
    member = MemberKey("b", client.json()["secret"])

    par = wait_for(lambda: _repo_inputs(env, key), lambda rs: len(rs) == 2 and all(r["price"] for r in rs))
    env.price("95")  # the fall
    rows = wait_for(lambda: _repo_inputs(env, key), lambda rs: all(r["price"] != par[0]["price"] for r in rs))
    net = _net(rows)
    per_repo = {int(r["repo_id"]): _net([r]) for r in rows}
    assert per_repo[repos[1]] > 1_000 * C  # above the repo's own minimum transfer: the engine accepts a call
    assert 0 < per_repo[repos[0]] <= 1_000 * C  # positive but within its own minimum transfer: the engine would not
    threshold = net // 2

    # threshold + MTA exactly at the net exposure: no call
    _agree(env, b_approver, a_approver, threshold=threshold, mta=net - threshold)
    first = Watcher(world.client, CrashAfterSend(tmp_path / "risk.db"), [member])
    assert first.tick() == []
    assert all(_calls_on_chain(env, r) == 0 for r in repos)

    # a new version one unit lower: the call goes out; the service dies before recording that it did
    agreement = _agree(env, b_approver, a_approver, threshold=threshold, mta=net - threshold - 1)
    with pytest.raises(SystemExit):
        first.tick()
    first.store.close()

    # a new process resumes from the state file: the same key, the gateway's recorded answer, one call
    second = Watcher(world.client, Store(tmp_path / "risk.db"), [member])
    made = second.tick()
    assert [i.repo_id for i in made] == [repos[1]]  # only the repo the engine accepts, re-sent under its key
    assert made[0].agreement_id == agreement and made[0].call_amount == net - threshold
    wait_for(lambda: _calls_on_chain(env, repos[1]), lambda n: n >= 1)
    wait_for(lambda: _repo_inputs(env, key), lambda rs: any(r["status"] == "margin_called" for r in rs))
    assert second.tick() == []  # called already: nothing new
    assert _calls_on_chain(env, repos[1]) == 1 and _calls_on_chain(env, repos[0]) == 0
    assert [i.status for i in second.store.intents()] == ["sent"]


def test_no_standing_instruction_no_call(env: Env) -> None:
    """An API key with risk:act alone cannot call margin for a member that did not instruct the service."""
    world = env.world
    a_admin = world.user("a", Role.MEMBER_ADMIN, "aadmin2")
    client = a_admin.post("/v1/clients", json={"kind": "api_key", "name": "r2", "scopes": ["repos:read", "risk:act"]})
    headers = {"X-API-Key": client.json()["secret"], "Idempotency-Key": uuid.uuid4().hex}
    body = {"repo_id": 1, "agreement_id": str(uuid.uuid4()), "call_amount": "1"}
    # A is the seller of repo 1, not its holder: the repo is not one it may call on
    assert world.client.post("/v1/risk/margin-calls", json=body, headers=headers).status_code == 404


def test_the_services_fenced_call_reads_the_chain_before_it_takes_the_write_lock(env: Env, tmp_path: Path) -> None:
    """``reponet risk`` sends each call with its member's risk-lease token (X-Lease-Token). The fence is checked
    again inside the write transaction, but the repo, its holder and the engine's simulation are read before it:
    with the seam's guard on, a chain call made while this request held SQLite's write lock would fail the call."""
    world = env.world
    env.price("100")
    repo = env.open_custodial(rate="0", collateral_amount="104000")
    env.price("95")
    b_admin = world.user("b", Role.MEMBER_ADMIN, "badmin3")
    client = b_admin.post("/v1/clients", json={"kind": "api_key", "name": "r3", "scopes": ["repos:read", "risk:act"]})
    assert client.status_code == 201, client.text
    secret = str(client.json()["secret"])
    key, member = {"X-API-Key": secret}, MemberKey("b", secret)
    wait_for(lambda: _repo_inputs(env, key), lambda rs: any(int(r["repo_id"]) == repo and r["price"] for r in rs))
    _agree(env, world.user("b", Role.APPROVER, "bapprover3"), world.user("a", Role.APPROVER, "aapprover3"),
           threshold=0, mta=1)  # fmt: skip
    lease = Lease(world.client, "risk", lambda: secret, holder="risk-1")
    assert lease.try_acquire() and lease.headers() == {"X-Lease-Token": str(lease.token)}
    watcher = Watcher(world.client, Store(tmp_path / "fenced.db"), [member], fence=lambda _: lease.headers())
    made = watcher.tick()
    assert repo in [i.repo_id for i in made], [i.repo_id for i in made]
    wait_for(lambda: _calls_on_chain(env, repo), lambda n: n >= 1)
