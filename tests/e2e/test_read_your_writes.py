"""Reads consistent with "final", and party steps refused before they are signed (issue 26, items 3 and 4).

On Anvil, through the gateway's API with its relayer and indexer running. The indexer is made slow (1.5 s between
polls): the read right after ``/wait`` reported a settlement final must show its effect all the same, for open,
margin call, cure, substitution and repurchase; a closed repo keeps what was paid. A self-held buyer without an
allowance to the engine is refused when it signs, not after the open reverts (a trade whose open failed anyway is
retried with fresh terms: tests/e2e/test_custody_chain.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from gateway.db.models import Role
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, Deployment, deploy, start_chain
from tests.e2e.test_trading_chain import post_price, repo_state, settled
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import Member, World
from tests.gateway.market import approve_member, call, custodial_wallet, register_self_held, step_up

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS
B = 10**BOND_DECIMALS
SLOW_INDEXER_SECONDS = 1.5


@dataclass
class Env:
    d: Deployment
    world: World
    admin: Member
    admin2: Member
    a: Member
    b: Member
    a_wallet: dict[str, Any]
    b_wallet: dict[str, Any]

    def price(self, token: str, percent_of_par: str) -> None:
        post_price(self.admin, self.admin2, token, self.d.addresses["cash"], percent_of_par)

    def trade(self, *, seller_wallet_id: str, buyer: str, **terms: Any) -> str:
        body = {
            "role": "seller",
            "wallet_id": seller_wallet_id,
            "counterparty_wallet": buyer,
            "cash_token": self.d.addresses["cash"],
            "collateral_token": self.d.addresses["bond"],
            "purchase_price": "100000",
            "collateral_amount": "120000",
            "rate": "0.05",
            "haircut_bps": 200,
            "tenor_seconds": 600,
            "min_transfer_amount": "100",
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
            **terms,
        }
        r = call(self.a, "/v1/trades", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def position(self, member: Member, repo_id: int) -> dict[str, Any]:
        """The very next read, no retry: what a client sees right after "final"."""
        r = member.get("/v1/positions")
        assert r.status_code == 200, r.text
        body = r.json()
        found = [p for p in body["data"] if p["repo_id"] == repo_id]
        assert found, f"repo {repo_id} not in {body}"
        return dict(found[0], as_of_block=body.get("as_of_block"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp_path: Path = tmp_path_factory.mktemp("ryw")
    for chain in start_chain("anvil", tmp_path):
        d = deploy(chain)
        for world in chain_world(d, tmp_path):
            admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
            admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
            a, b = world.user("a", Role.TRADER, "atrader"), world.user("b", Role.TRADER, "btrader")
            a_wallet, b_wallet = custodial_wallet(a), custodial_wallet(b)
            approve_member(world, "a")
            approve_member(world, "b")
            for address, kind in ((d.addresses["cash"], "cash"), (d.addresses["bond"], "bond")):
                r = call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind})
                assert r.status_code == 201, r.text
            r = call(admin, "/v1/operator/instruments", json={"address": d.addresses["bond2"], "kind": "bond"})
            assert r.status_code == 201, r.text
            for wallet, amount in ((b_wallet, "2000000"), (a_wallet, "100000")):
                issue = {"token": d.addresses["cash"], "wallet": wallet["address"], "amount": amount}
                settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 2_000_000 * B))
            d.send(d.deployer, d.bond2.functions.mint(a_wallet["address"], 2_000_000 * B))
            e = Env(d, world, admin, admin2, a, b, a_wallet, b_wallet)
            e.price(d.addresses["bond"], "98")
            e.price(d.addresses["bond2"], "98")
            hub = world.client.app.state.hub  # type: ignore[attr-defined]
            hub.market.settings.indexer_poll_seconds = SLOW_INDEXER_SECONDS  # reads lag the relayer by up to this
            yield e


def test_reads_after_final_reflect_each_step(env: Env) -> None:
    d, a, b = env.d, env.a, env.b
    bond, bond2 = d.addresses["bond"], d.addresses["bond2"]
    trade = env.trade(seller_wallet_id=env.a_wallet["id"], buyer=env.b_wallet["address"])
    for member in (a, b):
        step_up(member)
        r = call(member, f"/v1/trades/{trade}/sign")
        assert r.status_code == 200, r.text
    settlement = a.get(f"/v1/trades/{trade}").json()["settlement_id"]
    done = settled(a, a.get(f"/v1/settlements/{settlement}"))
    repo_id = int(a.get(f"/v1/trades/{trade}").json()["repo_id"])
    # open
    seen = env.position(a, repo_id)
    assert seen["status"] == "open", seen
    assert seen["as_of_block"] >= done["final_block"], (seen, done)
    assert env.position(b, repo_id)["role"] == "holder"

    # margin call after a price drop
    env.price(bond, "80")
    done = settled(b, call(b, f"/v1/repos/{repo_id}/margin-call"))
    assert env.position(a, repo_id)["status"] == "margin_called"
    # cure with cash
    outstanding = repo_state(d, repo_id)[20]
    settled(a, call(a, f"/v1/repos/{repo_id}/margin", json={"cash_amount": f"{outstanding // C + 1}"}))
    seen = env.position(a, repo_id)
    assert seen["status"] == "open" and seen["cash_margin"] != "0.000000", seen

    # substitution: A proposes, B consents, A's wallet sends it
    sub = call(
        a, f"/v1/repos/{repo_id}/substitutions", json={"new_collateral_token": bond2, "new_collateral_amount": "150000"}
    )
    assert sub.status_code == 201, sub.text
    assert call(b, f"/v1/instructions/{sub.json()['id']}/sign").status_code == 200
    submitted = call(a, f"/v1/instructions/{sub.json()['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    settled(a, a.get(f"/v1/settlements/{submitted.json()['settlement_id']}"))
    seen = env.position(a, repo_id)
    assert seen["collateral_token"].lower() == bond2.lower() and seen["collateral_amount"].startswith("150000"), seen

    # repurchase at maturity: the closed position keeps what was paid
    d.advance(max(0, repo_state(d, repo_id)[10] - d.now()) + 1)
    env.price(bond2, "98")
    b_cash = d.cash.functions.balanceOf(env.b_wallet["address"]).call()
    step_up(a)
    settled(a, call(a, f"/v1/repos/{repo_id}/repurchase"))
    paid = d.cash.functions.balanceOf(env.b_wallet["address"]).call() - b_cash
    seen = env.position(a, repo_id)
    assert seen["status"] == "repurchased", seen
    assert seen["repurchase_price_paid"] == f"{paid // C}.{paid % C:06d}" == seen["repurchase_price_now"], seen
    assert seen["collateral_amount"].startswith("150000"), seen


def test_min_block_beyond_the_indexer_is_409(env: Env) -> None:
    r = env.a.get("/v1/positions?min_block=999999999")
    assert r.status_code == 409 and r.json()["type"].endswith("/block-not-indexed"), r.text
    ok = env.a.get("/v1/positions?min_block=0")
    assert ok.status_code == 200 and int(ok.headers["x-reponet-block"]) == ok.json()["as_of_block"]


def test_self_held_buyer_without_allowance_refused_at_sign_time_then_accepted_once_approved(env: Env) -> None:
    d, a, b = env.d, env.a, env.b
    key = Account.create()
    register_self_held(b, key.address, key, "cold")
    issue = {"token": d.addresses["cash"], "wallet": key.address, "amount": "200000"}
    settled(env.admin, call(env.admin, "/v1/operator/cash/issue", json=issue))
    trade = env.trade(seller_wallet_id=env.a_wallet["id"], buyer=key.address)
    step_up(a)
    assert call(a, f"/v1/trades/{trade}/sign").status_code == 200
    doc = b.get(f"/v1/trades/{trade}/typed-data").json()
    signature = "0x" + bytes(key.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    refused = call(b, f"/v1/trades/{trade}/signature", json={"signature": signature})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/open-would-fail") and problem["reason"] == "allowance", problem
    assert (
        problem["token"].lower() == d.addresses["cash"].lower() and problem["wallet"].lower() == key.address.lower()
    ), problem
    assert b.get(f"/v1/trades/{trade}").json()["status"] == "pending_signatures"  # nothing was queued

    # fixed: the wallet approves the engine; the same signature is now accepted and the repo opens
    d.send(key, d.cash.functions.approve(d.addresses["repo_engine"], 2**256 - 1))
    accepted = call(b, f"/v1/trades/{trade}/signature", json={"signature": signature})
    assert accepted.status_code == 200, accepted.text
    settlement = a.get(f"/v1/trades/{trade}").json()["settlement_id"]
    settled(a, a.get(f"/v1/settlements/{settlement}"))
    assert a.get(f"/v1/trades/{trade}").json()["status"] == "open"


def test_the_surface_a_member_needs(env: Env) -> None:
    """Issue 26 item 5: where the settlement contract is, instruments with currency and ISIN, bonds issued through
    the API under the issuer's policy (redeemed only from maturity on)."""
    d, a = env.d, env.a
    net = a.get("/v1/network")
    assert net.status_code == 200, net.text
    body = net.json()
    assert body["repo_engine"] == d.addresses["repo_engine"] and body["chain_id"] == d.w3.eth.chain_id, body
    assert body["price_oracle"] == d.addresses["price_oracle"] and isinstance(body["indexed_block"], int), body
    listed = {i["address"].lower(): i for i in a.get("/v1/instruments").json()["data"]}
    cash, bond = listed[d.addresses["cash"].lower()], listed[d.addresses["bond"].lower()]
    assert (cash["currency"], cash["isin"], cash["decimals"]) == ("EUR", None, CASH_DECIMALS), cash
    # a bond's currency: the one the oracle prices it in (here the cash token's, EUR)
    assert (bond["currency"], bond["isin"], bond["decimals"]) == ("EUR", "DE0001102580", BOND_DECIMALS), bond

    before = d.bond.functions.balanceOf(env.a_wallet["address"]).call()
    issue = {"token": d.addresses["bond"], "wallet": env.a_wallet["address"], "amount": "1000"}
    assert call(a, "/v1/operator/bonds/issue", json=issue).status_code == 403  # the issuer's, not a member's
    settled(env.admin, call(env.admin, "/v1/operator/bonds/issue", json=issue))
    assert d.bond.functions.balanceOf(env.a_wallet["address"]).call() == before + 1000 * B
    not_a_bond = call(env.admin, "/v1/operator/bonds/issue", json={**issue, "token": d.addresses["cash"]})
    assert not_a_bond.status_code == 400, not_a_bond.text
    step_up(a)
    early = call(
        a, "/v1/redemptions", json={"wallet_id": env.a_wallet["id"], "token": d.addresses["bond"], "amount": "1"}
    )
    assert early.status_code == 400 and "at maturity" in early.json()["detail"], early.text


def test_an_amendment_the_engine_would_refuse_is_not_queued(env: Env) -> None:
    """Issue 26 item 4 for instructions: the last signature of a re-rate whose deadline has passed is answered 409
    step-would-revert with the engine's reason; nothing is queued and the instruction stays pending (runs last:
    it moves the chain's clock)."""
    d, a, b = env.d, env.a, env.b
    trade = env.trade(seller_wallet_id=env.a_wallet["id"], buyer=env.b_wallet["address"], tenor_seconds=7200)
    for member in (a, b):
        step_up(member)
        assert call(member, f"/v1/trades/{trade}/sign").status_code == 200
    settled(a, a.get(f"/v1/settlements/{a.get(f'/v1/trades/{trade}').json()['settlement_id']}"))
    repo_id = int(a.get(f"/v1/trades/{trade}").json()["repo_id"])
    amend = call(a, f"/v1/repos/{repo_id}/amendments", json={"kind": "rerate", "new_rate": "0.04"})
    assert amend.status_code == 201, amend.text
    instruction = amend.json()
    d.advance(int(instruction["message"]["deadline"]) - d.now() + 1)
    assert call(a, f"/v1/instructions/{instruction['id']}/sign").status_code == 200
    refused = call(b, f"/v1/instructions/{instruction['id']}/sign")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/step-would-revert"), refused.text
    after = a.get(f"/v1/instructions/{instruction['id']}").json()
    assert after["status"] == "pending" and after["settlement_id"] is None, after
