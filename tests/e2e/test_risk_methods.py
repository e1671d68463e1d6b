"""Margin method A, the eligible collateral schedule and rounding on our node, through the gateway: after a price
fall the risk service nets the pair as the agreement says — collateral outside the schedule counting nothing at the
repo's own margin ratio, eligible collateral at the schedule's larger haircut — and calls exactly at the edge: none
at threshold + minimum transfer, one a smallest unit past it, for the amount rounded up to the agreed step."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from gateway.db.models import Role
from gateway.risk.store import Store
from gateway.risk.watcher import MemberKey, Watcher
from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_risk_chain import _calls_on_chain, _repo_inputs, env  # noqa: F401 (the module's chain fixture)
from tests.e2e.test_trading_chain import wait_for
from tests.gateway.market import call, step_up

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS
ROUNDING = 500 * C
GILTS_ONLY = [{"collateral_class": "gilts", "isin_prefixes": ["GB"], "currency": "GBP", "haircut_bps": 100}]
ANY_AT_5 = [{"collateral_class": "any bond", "isin_prefixes": [], "currency": "*", "haircut_bps": 500}]


class Seen(Store):
    """The state file, keeping each tick's pair nets as the watcher computed them (the history is throttled)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.nets: list[dict[str, tuple[int, int]]] = []

    def record(self, member: str, pairs: dict[str, tuple[int, int]], repos: dict[int, int]) -> None:
        self.nets.append(pairs)
        super().record(member, pairs, repos)


def _agree(
    desk: Env, members: tuple[Any, Any], *, threshold: int, mta: int, eligible: list[dict[str, Any]], auto: bool = True
) -> str:
    b_approver, a_approver = members
    body = {
        "counterparty_id": str(desk.world.orgs["a"]),
        "base_currency": desk.cash,
        "threshold": str(Decimal(threshold) / C),
        "minimum_transfer": str(Decimal(mta) / C),
        "rounding": str(Decimal(ROUNDING) / C),
        "method": "A",
        "cure_period_seconds": 3600,
        "auto_call": auto,
        "eligible": eligible,
    }
    proposed = call(b_approver, "/v1/risk/agreements", body)
    assert proposed.status_code == 201, proposed.text
    approved = call(a_approver, f"/v1/risk/agreements/{proposed.json()['id']}/approve", {})
    assert approved.status_code == 200, approved.text
    return str(proposed.json()["id"])


def _method_a(row: dict[str, Any], haircut_bps: int, *, counted: bool) -> Decimal:
    """GMRA method A, exact: (RP − cash margin) × margin ratio − MV (MV zero for collateral the schedule refuses)."""
    ratio = Decimal(10_000) / (10_000 - haircut_bps)
    mv = Decimal(int(row["collateral_amount"]) * int(row["price"])) / 10**18 if counted else Decimal(0)
    return (int(row["repurchase_price"]) - int(row["cash_margin"])) * ratio - mv


def test_method_a_schedule_and_rounding_call_exactly_as_agreed(env: Env, tmp_path: Path) -> None:  # noqa: F811
    world = env.world
    env.price("100")
    repo = env.open_custodial(rate="0", collateral_amount="104000")
    b_admin = world.user("b", Role.MEMBER_ADMIN, "mbadmin")
    members = (world.user("b", Role.APPROVER, "mbapprover"), world.user("a", Role.APPROVER, "maapprover"))
    client = b_admin.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": ["repos:read", "risk:act"]})
    assert client.status_code == 201, client.text
    key = {"X-API-Key": client.json()["secret"]}
    par = wait_for(lambda: _repo_inputs(env, key), lambda rs: len(rs) == 1 and rs[0]["price"] is not None)
    env.price("95")
    (row,) = wait_for(lambda: _repo_inputs(env, key), lambda rs: rs[0]["price"] != par[0]["price"])
    watcher = Watcher(world.client, Seen(tmp_path / "risk.db"), [MemberKey("b", client.json()["secret"])])
    store = watcher.store
    assert isinstance(store, Seen)
    a = str(world.orgs["a"])
    far = 10**9 * C  # a threshold no net reaches: the service only values

    # a schedule that does not list the bond: it counts nothing, at the repo's own margin ratio (no error)
    _agree(env, members, threshold=far, mta=0, eligible=GILTS_ONLY)
    assert watcher.tick() == []
    refused = _method_a(row, int(row["haircut_bps"]), counted=False)
    assert store.nets[-1][a] == (int(refused.to_integral_value(ROUND_CEILING)), 1)

    # a schedule that lists it at 5% (above the repo's own): method A at the schedule's margin ratio
    _agree(env, members, threshold=far, mta=0, eligible=ANY_AT_5)
    assert watcher.tick() == []
    net, _ = store.nets[-1][a]
    assert net == int(_method_a(row, 500, counted=True).to_integral_value(ROUND_CEILING))  # rounded for the lender
    assert net > int(_method_a(row, int(row["haircut_bps"]), counted=True))  # more than at the repo's own 2%

    # threshold + minimum transfer exactly at the net: no call
    threshold = net // 3
    _agree(env, members, threshold=threshold, mta=net - threshold, eligible=ANY_AT_5)
    assert watcher.tick() == [] and _calls_on_chain(env, repo) == 0

    # one unit past it: the call, for the excess over the threshold rounded up to 500.00
    agreement = _agree(env, members, threshold=threshold, mta=net - threshold - 1, eligible=ANY_AT_5)
    timed = REGISTRY.get_sample_value("reponet_risk_price_to_call_seconds_count") or 0
    (made,) = watcher.tick()
    # the Prometheus figures: one more price-to-call time observed, no call left pending
    assert REGISTRY.get_sample_value("reponet_risk_price_to_call_seconds_count") == timed + 1
    assert REGISTRY.get_sample_value("reponet_risk_calls_pending") == 0
    assert (made.repo_id, made.agreement_id) == (repo, agreement)
    assert made.call_amount == -((threshold - net) // ROUNDING) * ROUNDING and made.call_amount % ROUNDING == 0
    assert made.call_amount >= net - threshold > made.call_amount - ROUNDING
    wait_for(lambda: _calls_on_chain(env, repo), lambda n: n >= 1)
    wait_for(lambda: _repo_inputs(env, key), lambda rs: rs[0]["status"] == "margin_called")
    assert watcher.tick() == [] and _calls_on_chain(env, repo) == 1


def test_a_member_that_chose_approval_gets_a_proposal_an_approver_confirms(env: Env, tmp_path: Path) -> None:  # noqa: F811
    """No standing instruction to call: the service proposes the call (once, also after a restart), nothing goes on
    chain until an approver of the lender confirms with a fresh TOTP code; a trader cannot."""
    world = env.world
    env.price("100")
    repo = env.open_custodial(rate="0", collateral_amount="104000")
    b_admin = world.user("b", Role.MEMBER_ADMIN, "pbadmin")
    b_approver = world.user("b", Role.APPROVER, "pbapprover")
    members = (b_approver, world.user("a", Role.APPROVER, "paapprover"))
    scopes = ["repos:read", "risk:act"]
    client = b_admin.post("/v1/clients", json={"kind": "api_key", "name": "riskp", "scopes": scopes})
    assert client.status_code == 201, client.text
    key = {"X-API-Key": client.json()["secret"]}
    member = MemberKey("b", client.json()["secret"])
    _agree(env, members, threshold=0, mta=0, eligible=[], auto=False)

    def mine() -> list[dict[str, Any]]:
        return [r for r in _repo_inputs(env, key) if int(r["repo_id"]) == repo]

    (par,) = wait_for(mine, lambda rs: len(rs) == 1 and rs[0]["price"] is not None)
    env.price("95")
    wait_for(mine, lambda rs: rs[0]["price"] != par["price"])

    def proposals() -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = b_approver.get("/v1/risk/proposals").json()["data"]
        return [p for p in data if p["repo_id"] == repo and p["kind"] == "margin_call"]

    assert Watcher(world.client, Store(tmp_path / "risk.db"), [member]).tick() == []  # no call made: proposed
    assert Watcher(world.client, Store(tmp_path / "risk.db"), [member]).tick() == []  # a restart: the same one
    (proposal,) = proposals()
    assert proposal["status"] == "proposed" and int(proposal["valuation"]["call_amount"]) > 0
    assert _calls_on_chain(env, repo) == 0
    assert call(env.b_trader, f"/v1/risk/proposals/{proposal['id']}/confirm").status_code == 403
    step_up(b_approver)
    confirmed = call(b_approver, f"/v1/risk/proposals/{proposal['id']}/confirm")
    assert confirmed.status_code == 202, confirmed.text
    done = b_approver.get(f"/v1/settlements/{confirmed.json()['settlement_id']}/wait?timeout=60").json()
    assert done["status"] == "final", done
    assert _calls_on_chain(env, repo) == 1
    assert call(b_approver, f"/v1/risk/proposals/{proposal['id']}/confirm").status_code == 409
