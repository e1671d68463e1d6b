"""Cross-currency margin on our node: a EUR repo backed by a USD bond, under an agreement whose base currency is
USD. The engine values the bond through the oracle's USD/EUR pair with the FX haircut; the risk service converts
the repo's EUR exposure into USD for the threshold + MTA test. A price fall on the USD bond produces exactly the
call the agreement implies: none at threshold + MTA exactly, one a smallest unit below, on the engine's own test;
the stress report nets the repo the same way, in USD."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from contracts.deploy import deploy_cash_token, list_tokens, set_currency
from gateway.db.models import Role
from gateway.risk.store import Store
from gateway.risk.watcher import MemberKey, Watcher
from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_risk_chain import _agree, _calls_on_chain, _repo_inputs, env  # noqa: F401 (the fixture)
from tests.e2e.test_trading_chain import wait_for
from tests.gateway.market import call

ONE = 10**18
BPS = 10_000
FX_HAIRCUT = 100  # USD collateral against EUR cash
USD_IN_EUR, EUR_IN_USD = 9 * ONE // 10, 11 * ONE // 10


def _usd(setup: Env) -> str:
    """A USD cash token listed on the oracle, the second bond priced in it, both FX pairs and their haircuts."""
    d, cash = setup.d, setup.cash
    usd = deploy_cash_token(
        d.w3, d.deployer, registry=d.addresses["identity_registry"], name="USD Deposit Token", symbol="USDD",
        currency="USD", decimals=CASH_DECIMALS,
    )  # fmt: skip
    set_currency(d.w3, d.deployer, oracle=d.addresses["price_oracle"], token=usd)
    list_tokens(d.w3, d.deployer, engine=d.addresses["repo_engine"], tokens=[usd])
    set_currency(d.w3, d.deployer, oracle=d.addresses["price_oracle"], token=d.addresses["bond2"], currency=usd)
    d.send(d.deployer, d.oracle.functions.setFxHaircut(usd, cash, FX_HAIRCUT))
    d.send(d.deployer, d.oracle.functions.setFxHaircut(cash, usd, FX_HAIRCUT))
    d.send(d.relayer, d.oracle.functions.setPrice(usd, cash, USD_IN_EUR))
    d.send(d.relayer, d.oracle.functions.setPrice(cash, usd, EUR_IN_USD))
    for address, kind in ((usd, "cash"), (d.addresses["bond2"], "bond")):
        r = call(setup.admin, "/v1/operator/instruments", json={"address": address, "kind": kind})
        assert r.status_code == 201, r.text
    return str(usd)


def test_usd_bond_price_fall_calls_the_eur_repo_as_the_usd_agreement_implies(env: Env, tmp_path: Path) -> None:  # noqa: F811
    d, world = env.d, env.world
    env.price("100")
    par = int(d.oracle.functions.getPrice(env.bond, env.cash).call()[0])  # the bonds share decimals: par in raw
    usd = _usd(env)
    bond2 = d.addresses["bond2"]
    d.send(d.relayer, d.oracle.functions.setPrice(bond2, usd, par))
    d.send(d.deployer, d.bond2.functions.mint(env.a_wallet["address"], 2_000_000 * 10**2))
    repo = env.open_custodial(rate="0", collateral_token=bond2, collateral_amount="120000")

    b_admin = world.user("b", Role.MEMBER_ADMIN, "bfxadmin")
    b_approver = world.user("b", Role.APPROVER, "bfxapprover")
    a_approver = world.user("a", Role.APPROVER, "afxapprover")
    client = b_admin.post(
        "/v1/clients", json={"kind": "api_key", "name": "riskfx", "scopes": ["repos:read", "risk:act"]}
    )
    assert client.status_code == 201, client.text
    key = {"X-API-Key": client.json()["secret"]}
    member = MemberKey("b", client.json()["secret"])

    d.send(d.relayer, d.oracle.functions.setPrice(bond2, usd, par * 90 // 100))  # the USD bond falls 10%
    row = wait_for(
        lambda: [r for r in _repo_inputs(env, key) if int(r["repo_id"]) == repo],
        lambda rs: len(rs) == 1 and rs[0]["price"] == str(par * 90 // 100) and rs[0]["fx_rate"] is not None,
    )[0]
    assert row["price_currency"].lower() == usd.lower() and int(row["fx_rate"]) == USD_IN_EUR
    assert row["fx_haircut_bps"] == FX_HAIRCUT
    # the engine's figure in EUR (contracts/CURRENCIES.md), then into USD rounded up for the lender
    v = int(row["collateral_amount"]) * int(row["price"]) // ONE * USD_IN_EUR // ONE
    eur = int(row["repurchase_price"]) - v * (BPS - row["haircut_bps"] - FX_HAIRCUT) // BPS - int(row["cash_margin"])
    assert eur > int(row["min_transfer_amount"])  # the engine accepts a call on the repo
    net_usd = -((-eur * EUR_IN_USD) // ONE)
    threshold = net_usd // 2

    agreement_edge = _agree(env, b_approver, a_approver, threshold=threshold, mta=net_usd - threshold, base=usd)
    assert agreement_edge
    watcher = Watcher(world.client, Store(tmp_path / "risk.db"), [member])
    assert watcher.tick() == []  # net exactly threshold + MTA in USD: no call
    assert _calls_on_chain(env, repo) == 0

    agreement = _agree(env, b_approver, a_approver, threshold=threshold, mta=net_usd - threshold - 1, base=usd)
    made = watcher.tick()
    assert [(i.repo_id, i.agreement_id, i.call_amount) for i in made] == [(repo, agreement, net_usd - threshold)]
    wait_for(lambda: _calls_on_chain(env, repo), lambda n: n >= 1)
    assert _calls_on_chain(env, repo) == 1

    # the stress run values the same repo as the engine does (no longer "unpriced") and nets it as the service
    # does: in the agreement's base currency, USD, the same figure and the same call
    body = {"scenarios": [{"name": "none", "shocks": [{"kind": "instrument", "target": bond2, "bps": 0}]}]}
    answer = world.client.post("/v1/risk/stress", json=body, headers=key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["unpriced"] == 0
    (pair,) = [p for p in answer.json()["scenarios"][0]["pairs"] if p["role"] == "lender"]
    assert pair["cash_token"].lower() == usd.lower() and pair["agreement_id"] == agreement
    assert Decimal(pair["exposure_before"]) == Decimal(net_usd) / 10**CASH_DECIMALS
    assert Decimal(pair["call_before"]) == Decimal(net_usd - threshold) / 10**CASH_DECIMALS
