"""Stress against our node, through the gateway: what a −5% shock predicts is what the risk service then calls
when the price really falls 5% — the same pair, the same amount, on the lender's side; the borrower sees the same
call as one to meet; a shock on another issuer or on the currency both sides share moves nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Role
from gateway.risk.store import Store
from gateway.risk.watcher import MemberKey, Watcher
from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_risk_chain import _agree, _repo_inputs, env  # noqa: F401  (the module's chain fixture)
from tests.e2e.test_trading_chain import wait_for

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS


def _key(member: Any, scopes: list[str]) -> dict[str, str]:
    client = member.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": scopes})
    assert client.status_code == 201, client.text
    return {"X-API-Key": client.json()["secret"]}


def _stress(chain_env: Env, key: dict[str, str], *shocks: tuple[str, str, int]) -> list[dict[str, Any]]:
    body = {
        "scenarios": [{"name": f"{k} {t} {b}", "shocks": [{"kind": k, "target": t, "bps": b}]} for k, t, b in shocks]
    }
    answer = chain_env.world.client.post("/v1/risk/stress", json=body, headers=key)
    assert answer.status_code == 200, answer.text
    scenarios: list[dict[str, Any]] = answer.json()["scenarios"]
    return scenarios


def _units(amount: str) -> int:
    return int(Decimal(amount) * C)


def test_the_stress_predicts_the_calls_a_real_fall_then_makes(env: Env, tmp_path: Path) -> None:  # noqa: F811
    world = env.world
    env.price("100")
    repos = [env.open_custodial(rate="0", collateral_amount=amount) for amount in ("103000", "102500")]
    b_key = _key(world.user("b", Role.MEMBER_ADMIN, "sbadmin"), ["repos:read", "risk:act"])
    a_key = _key(world.user("a", Role.MEMBER_ADMIN, "saadmin"), ["repos:read"])
    b_approver = world.user("b", Role.APPROVER, "sbapprover")
    a_approver = world.user("a", Role.APPROVER, "saapprover")
    wait_for(lambda: _repo_inputs(env, b_key), lambda rs: len(rs) >= 2 and all(r["price"] for r in rs))
    agreement = _agree(env, b_approver, a_approver, threshold=500 * C, mta=100 * C)

    minus5, other_issuer, same_ccy, nothing = _stress(
        env, b_key, ("instrument", "*", -500), ("issuer", "FR", -2_000), ("currency", "EUR", -2_000), ("rate", "*", 0)
    )
    (pair,) = [p for p in minus5["pairs"] if p["role"] == "lender"]
    assert pair["agreement_id"] == agreement and pair["counterparty_id"] == str(world.orgs["a"])
    assert pair["call_before"] == "0." + "0" * CASH_DECIMALS and _units(pair["call_after"]) > 0
    assert _units(pair["shortfall_after"]) > 0  # at 95 the RP is no longer covered by the collateral alone
    assert minus5["totals"][0]["calls_to_make"] == pair["call_after"]
    for flat in (other_issuer, same_ccy, nothing):
        (p,) = [p for p in flat["pairs"] if p["role"] == "lender"]
        assert p["exposure_after"] == p["exposure_before"] and p["call_after"] == "0." + "0" * CASH_DECIMALS
    # the borrower's view: the same pair as a call it would have to meet
    (a_side,) = _stress(env, a_key, ("instrument", "*", -500))
    (owed,) = [p for p in a_side["pairs"] if p["role"] == "borrower"]
    assert owed["call_after"] == pair["call_after"] and owed["counterparty_id"] == str(world.orgs["b"])

    # the real fall of the same size: the service calls that amount on the pair
    before = _repo_inputs(env, b_key)
    env.price("95")
    wait_for(lambda: _repo_inputs(env, b_key), lambda rs: all(r["price"] != before[0]["price"] for r in rs))
    made = Watcher(world.client, Store(tmp_path / "risk.db"), [MemberKey("b", b_key["X-API-Key"])]).tick()
    assert made and {i.call_amount for i in made} == {_units(pair["call_after"])}
    assert {i.repo_id for i in made} <= set(repos)
    (now,) = _stress(env, b_key, ("rate", "*", 0))
    (p,) = [p for p in now["pairs"] if p["role"] == "lender"]
    assert p["call_before"] == pair["call_after"]  # today's figure is the predicted one
