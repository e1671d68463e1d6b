"""End to end on Anvil, through the gateway: collateral must outlive the repo (refused at RFQ, direct terms and
roll; flagged on the position when it matures soon), both parties change the coupon election (the engine's
``COUPON_ELECTION`` amendment), a frozen seller's close-out completes and its excess collateral shows as its claim,
and a close-out shortfall shows for both sides in ``GET /v1/claims``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Role
from gateway.trading import money
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, ChainProcess, Deployment, deploy, start_chain
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import Member, World
from tests.gateway.market import approve_member, call, custodial_wallet

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
B = 10**BOND_DECIMALS
C = 10**CASH_DECIMALS
DAY = 86_400


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain("anvil", tmp_path)


@pytest.fixture
def deployment(chain: ChainProcess) -> Deployment:
    return deploy(chain)


@pytest.fixture
def world(deployment: Deployment, tmp_path: Path) -> Iterator[World]:
    yield from chain_world(deployment, tmp_path)


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def wait_for(fetch: Any, predicate: Any, timeout: float = 60.0) -> Any:
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = fetch()
        if predicate(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out; last: {last}")


def settled(member: Member, response: Any) -> None:
    assert response.status_code in (200, 201, 202), response.text
    body = response.json()
    settlement = body["settlement"] if "settlement" in body else body
    done = member.get(f"/v1/settlements/{settlement['id']}/wait?timeout=60").json()
    assert done["status"] == "final", done


def price(admin: Member, admin2: Member, asset: str, quote: str, percent: str) -> None:
    r = call(admin, "/v1/operator/prices", json={"asset": asset, "quote": quote, "price_percent_of_par": percent})
    assert r.status_code == 202, r.text
    if r.json()["status"] == "awaiting_confirmation":
        r = call(admin2, f"/v1/operator/prices/{r.json()['id']}/confirm")
        assert r.status_code == 202, r.text
    settled(admin, r)


def rfq_body(wallet: dict[str, Any], cash: str, bond: str, lender: str, tenor: int, grace: int = 5) -> dict[str, Any]:
    return {
        "seller_wallet_id": wallet["id"],
        "cash_token": cash,
        "collateral_token": bond,
        "purchase_price": "900000",
        "collateral_amount": "1000000",
        "tenor_seconds": tenor,
        "min_transfer_amount": "1000",
        "margin_cure_period_seconds": 3600,
        "grace_period_seconds": grace,
        "lenders": [lender],
    }


def open_repo(world: World, a: Member, b: Member, a_wallet: Any, b_wallet: Any, body: dict[str, Any]) -> int:
    rfq = call(a, "/v1/rfqs", json=body)
    assert rfq.status_code == 201, rfq.text
    quote = call(
        b,
        f"/v1/rfqs/{rfq.json()['id']}/quotes",
        json={"buyer_wallet_id": b_wallet["id"], "rate": "0.03", "haircut_bps": 200},
    )
    assert quote.status_code == 201, quote.text
    trade = call(a, f"/v1/rfqs/{rfq.json()['id']}/accept", json={"quote_id": quote.json()["id"]})
    assert trade.status_code == 201, trade.text
    for member in (a, b):
        assert call(member, f"/v1/trades/{trade.json()['id']}/sign").status_code == 200
    opened = wait_for(lambda: a.get(f"/v1/trades/{trade.json()['id']}").json(), lambda t: t["status"] != "settling")
    assert opened["status"] == "open", opened
    return int(opened["repo_id"])


def test_maturity_guard_coupon_election_claims_and_shortfalls(deployment: Deployment, world: World) -> None:
    from contracts.deploy import deploy_bond_token, list_tokens, set_currency

    d = deployment
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
    a = world.user("a", Role.TRADER, "atrader")
    b = world.user("b", Role.TRADER, "btrader")
    a_wallet, b_wallet = custodial_wallet(a), custodial_wallet(b)
    approve_member(world, "a")
    approve_member(world, "b")
    cash, bond = d.addresses["cash"], d.addresses["bond"]
    # a bond that matures in three days
    short = deploy_bond_token(
        d.w3,
        d.deployer,
        registry=d.addresses["identity_registry"],
        name="Bill 3d",
        symbol="BILL3D",
        isin="XS0000000003",
        decimals=BOND_DECIMALS,
        coupon_rate=0,
        maturity=d.now() + 3 * DAY,
    )
    set_currency(d.w3, d.deployer, oracle=d.addresses["price_oracle"], token=short, currency=cash)
    # the gateway lists for trading only what the engine would accept in a repo: its admin lists the token first
    refused = call(admin, "/v1/operator/instruments", json={"address": short, "kind": "bond"})
    assert refused.status_code == 409 and refused.json()["code"] == "not-listed-in-engine", refused.text
    list_tokens(d.w3, d.deployer, engine=d.addresses["repo_engine"], tokens=[short])
    for address, kind in ((cash, "cash"), (bond, "bond"), (short, "bond")):
        assert call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind}).status_code == 201
    settled(
        admin,
        call(
            admin, "/v1/operator/cash/issue", json={"token": cash, "wallet": b_wallet["address"], "amount": "5000000"}
        ),
    )
    from contracts.deploy import contract

    for token in (bond, short):
        d.send(d.deployer, contract(d.w3, "BondToken", token).functions.mint(a_wallet["address"], 5_000_000 * B))
        price(admin, admin2, token, cash, "100")
    lender = str(world.orgs["b"])

    # 1. collateral that matures before the repo is refused: RFQ, direct terms
    refused = call(a, "/v1/rfqs", json=rfq_body(a_wallet, cash, short, lender, tenor=4 * DAY))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "collateral-matures-first"
    direct = call(
        a,
        "/v1/trades",
        json={
            "role": "seller",
            "wallet_id": a_wallet["id"],
            "counterparty_wallet": b_wallet["address"],
            "cash_token": cash,
            "collateral_token": short,
            "purchase_price": "900000",
            "collateral_amount": "1000000",
            "rate": "0.03",
            "haircut_bps": 200,
            "tenor_seconds": 4 * DAY,
        },
    )
    assert direct.status_code == 422 and direct.json()["code"] == "collateral-matures-first", direct.text

    # 2. a repo that ends before the bond matures opens; its position says the collateral needs substitution soon
    repo_short = open_repo(world, a, b, a_wallet, b_wallet, rfq_body(a_wallet, cash, short, lender, tenor=600))
    position = wait_for(lambda: a.get(f"/v1/repos/{repo_short}").json(), lambda body: "position" in body)["position"]
    assert position["substitution_needed"] is True and position["collateral_maturity"] is not None
    roll = call(a, f"/v1/repos/{repo_short}/amendments", json={"kind": "roll", "new_tenor_seconds": 4 * DAY})
    assert roll.status_code == 422 and roll.json()["code"] == "collateral-matures-first", roll.text

    # 3. both parties elect that coupons reduce the repurchase price; the engine records it; then the timeline
    repo = open_repo(world, a, b, a_wallet, b_wallet, rfq_body(a_wallet, cash, bond, lender, tenor=600))
    assert d.engine.functions.couponOwed(repo).call()[4] is False
    no_choice = call(a, f"/v1/repos/{repo}/amendments", json={"kind": "coupon_election"})
    assert no_choice.status_code == 400, no_choice.text
    elect = call(
        a, f"/v1/repos/{repo}/amendments", json={"kind": "coupon_election", "apply_coupons_to_repurchase_price": True}
    )
    assert elect.status_code == 201, elect.text
    one = call(a, f"/v1/instructions/{elect.json()['id']}/sign")
    assert one.status_code == 200 and one.json()["status"] == "pending", one.text  # one party is not enough
    assert d.engine.functions.couponOwed(repo).call()[4] is False
    assert call(b, f"/v1/instructions/{elect.json()['id']}/sign").status_code == 200
    wait_for(lambda: d.engine.functions.couponOwed(repo).call()[4], lambda toRP: toRP is True)
    timeline = wait_for(
        lambda: a.get(f"/v1/repos/{repo}").json()["timeline"],
        lambda events: any(e["type"] == "repo.CouponElectionChanged" for e in events),
    )
    changed = next(e for e in timeline if e["type"] == "repo.CouponElectionChanged")
    assert changed["data"]["apply_to_repurchase_price"] is True
    position = a.get(f"/v1/repos/{repo}").json()["position"]
    assert position["substitution_needed"] is False

    # 3b. the issuer sets the Bund's coupon schedule and, as paying agent, pays the repo's coupon: by the election
    # it goes to the holder (B) and comes off the repurchase price
    now = d.now()
    schedule = {
        "bond": bond,
        "coupon_token": cash,
        "periods_per_year": 2,
        "coupons": [{"record_date": iso(now + 60), "payment_date": iso(now + 120)}],
    }
    bad = call(admin, "/v1/operator/coupon-schedules", json={**schedule, "periods_per_year": 3})
    assert bad.status_code == 400, bad.text
    settled(admin, call(admin, "/v1/operator/coupon-schedules", json=schedule))
    again = call(admin, "/v1/operator/coupon-schedules", json=schedule)
    assert again.status_code == 409, again.text
    early = call(admin, f"/v1/operator/repos/{repo}/coupons/pay")
    assert early.status_code == 409, early.text  # not due yet
    d.advance(130)
    owed = a.get(f"/v1/repos/{repo}/coupons/next").json()
    assert owed["index"] == 0 and owed["applied_to_repurchase_price"] is True, owed
    refused = call(admin, f"/v1/operator/repos/{repo}/coupons/pay")
    assert refused.status_code == 409 and "system account" in refused.json()["detail"], refused.text
    d.send(d.deployer, d.registry.functions.setSystemAccount(d.relayer.address, True))  # may now hold coupon cash
    at = d.now() + 10  # one instant for both prices: the payment's block moves the chain's clock
    rp_before = d.engine.functions.repurchasePrice(repo, at).call()
    b_cash = d.cash.functions.balanceOf(b_wallet["address"]).call()
    settled(admin, call(admin, f"/v1/operator/repos/{repo}/coupons/pay"))
    paid = d.cash.functions.balanceOf(b_wallet["address"]).call() - b_cash
    assert paid == int(Decimal(owed["amount"]) * C) and paid > 0
    assert d.engine.functions.repurchasePrice(repo, at).call() == rp_before - paid
    assert a.get(f"/v1/repos/{repo}/coupons/next").json()["index"] is None
    assert call(a, f"/v1/operator/repos/{repo}/coupons/pay").status_code == 403  # the issuer's, not a member's

    # 4. a third repo whose price collapses: close-out leaves a shortfall, B's claim on A
    repo_loss = open_repo(world, a, b, a_wallet, b_wallet, rfq_body(a_wallet, cash, bond, lender, tenor=600))
    d.advance(700)
    for token in (bond, short):
        price(admin, admin2, token, cash, "100")
    # A's identity is frozen (sanctions): B's remedies must still work; A's excess collateral becomes A's claim
    identity = d.registry.functions.identityOf(a_wallet["address"]).call()
    d.send(d.deployer, d.registry.functions.freezeIdentity(identity))
    settled(b, call(b, f"/v1/repos/{repo}/default"))
    settled(b, call(b, f"/v1/repos/{repo}/close-out"))
    claim_units = d.engine.functions.claimOf(a_wallet["address"], bond).call()
    assert claim_units > 0
    price(admin, admin2, bond, cash, "50")
    settled(b, call(b, f"/v1/repos/{repo_loss}/default"))
    settled(b, call(b, f"/v1/repos/{repo_loss}/close-out"))
    owed = d.engine.functions.shortfallOf(repo_loss).call()
    assert owed > 0

    def claims(member: Member) -> dict[str, Any]:
        r = member.get("/v1/claims")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    mine = wait_for(lambda: claims(a), lambda body: body["claims"] and body["shortfalls"])
    assert [(c["wallet"], c["token"].lower(), c["symbol"]) for c in mine["claims"]] == [
        (a_wallet["address"], bond.lower(), "DBR35")
    ]
    assert mine["claims"][0]["amount"] == money.from_units(claim_units, BOND_DECIMALS)
    assert [(s["repo_id"], s["role"]) for s in mine["shortfalls"]] == [(repo_loss, "debtor")]
    theirs = claims(b)
    assert theirs["claims"] == [] and [(s["repo_id"], s["role"]) for s in theirs["shortfalls"]] == [
        (repo_loss, "creditor")
    ]
    names = [e["type"] for e in a.get(f"/v1/repos/{repo}").json()["timeline"]]
    assert "repo.ClaimCredited" in names and "repo.RepoClosedOut" in names
    assert "repo.RepoShortfallRecorded" in [e["type"] for e in a.get(f"/v1/repos/{repo_loss}").json()["timeline"]]
