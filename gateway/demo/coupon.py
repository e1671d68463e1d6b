"""The demo's coupon chapter: the bond in the engine's escrow pays a coupon during the repo, and the engine passes
it to the seller in the same transaction (a GMRA 5 manufactured payment).

The issuer acts as the bond's paying agent: it sets the coupon schedule (once per bond), holds cash as a registry
system account (admitted by ``reponet up`` before the admin hand-over, as the escrow is), funds the coupon and pays
the repo's share through ``RepoEngine.payCoupon`` — through the gateway's issuer endpoints when it has them
(``gateway.operator.coupons``), else with the issuer key."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from web3 import Web3

from gateway.demo.exceptions import DemoError
from gateway.demo.records import RepoRecord
from gateway.demo.stage import Stage
from gateway.ops.chain import send

# Seconds from now to the coupon's record date and payment date: short, so the demo does not wait long.
RECORD_IN_SECONDS = 4
PAY_IN_SECONDS = 7
SCHEDULE_ROUTE = "/v1/operator/coupon-schedules"
PAY_ROUTE = "/v1/operator/repos/{repo_id}/coupons/pay"
PERIODS_PER_YEAR = 2
INDEXED_WITHIN_SECONDS = 60.0
POLL_SECONDS = 0.25


def coupon_reaches_seller(stage: Stage, repo: RepoRecord) -> None:
    """Sets a coupon on the repo's bond, waits for its payment date, pays it and checks the seller received it."""
    stage.chapter(f"A coupon on {repo.label}'s collateral reaches the seller")
    bond = stage.tok(stage.gov)
    cash = stage.tok(stage.cash)
    engine = stage.engine
    if int(bond.functions.couponCount().call()) != 0:
        stage.say(f"[dim]{stage.gov.symbol} has its coupon schedule from an earlier run: no coupon this time[/dim]")
        return
    via_gateway = stage.gateway_trading and {SCHEDULE_ROUTE, PAY_ROUTE} <= stage.paths
    now = max(stage.now(), int(time.time()))  # a chain that seals only for work keeps an old head timestamp
    record, pay = now + RECORD_IN_SECONDS, now + PAY_IN_SECONDS
    if via_gateway:
        body = {
            "bond": stage.gov.address,
            "coupon_token": stage.cash.address,
            "periods_per_year": PERIODS_PER_YEAR,
            "coupons": [{"record_date": _iso(record), "payment_date": _iso(pay)}],
        }
        stage.settle(stage.ops_session().post(SCHEDULE_ROUTE, body=body), "coupon schedule")
        stage.gateway_steps.append(f"coupon schedule (POST {SCHEDULE_ROUTE})")
    else:
        fn = bond.functions.setCouponSchedule(stage.cash.address, PERIODS_PER_YEAR, [record], [pay])
        send(stage.w3, stage.issuer, fn, f"coupon schedule {stage.gov.symbol}")
        stage.via_chain("coupon schedule (issuer key, BondToken.setCouponSchedule)")

    if not stage.registry.functions.isSystemAccount(stage.issuer.address).call():
        # Admitted by ``reponet up`` before the admin hand-over; afterwards only the multisig could, behind the delay.
        raise DemoError("the paying agent (issuer key) is not a registry system account: it cannot hold coupon cash")
    index, _, _, units, _ = engine.functions.couponOwed(repo.repo_id).call()
    amount = int(bond.functions.couponAmount(units).call())
    if not via_gateway:
        send(stage.w3, stage.issuer, cash.functions.mint(stage.issuer.address, amount), "mint coupon cash")
        send(stage.w3, stage.issuer, cash.functions.approve(engine.address, amount), "approve coupon")
    stage.wait_until(pay, "the coupon's payment date", stage.gov)

    seller = Web3.to_checksum_address(engine.functions.getRepo(repo.repo_id).call()[0])  # the seller's wallet
    before = int(cash.functions.balanceOf(seller).call())
    if via_gateway:  # the issuer's paying-agent endpoint funds, approves and pays from the issuer's account
        stage.settle(stage.ops_session().post(PAY_ROUTE.format(repo_id=repo.repo_id)), "coupon payment")
        stage.gateway_steps.append(f"coupon payment by the paying agent (POST {PAY_ROUTE})")
    else:
        send(stage.w3, stage.issuer, engine.functions.payCoupon(repo.repo_id, index), "payCoupon")
        stage.via_chain("coupon payment (paying agent = issuer key, RepoEngine.payCoupon)")
    received = int(cash.functions.balanceOf(seller).call()) - before
    event = stage.last_event("CouponManufactured", repo)
    if event is None or received != amount or Web3.to_checksum_address(event["to"]) != seller:
        raise DemoError(f"{repo.label}: the coupon did not reach the seller (received {received} of {amount})")
    _wait_indexed(stage, repo)
    stage.say(
        f"the paying agent pays the coupon on {stage.amount(stage.gov, int(units))} in escrow; the engine passes "
        f"{stage.amount(stage.cash, amount)} to the seller in the same transaction (CouponManufactured)"
    )


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _wait_indexed(stage: Stage, repo: RepoRecord) -> None:
    """The seller sees the manufactured payment in its repo's timeline through the gateway (indexer, then API)."""
    seller = stage.members["a"]
    deadline = time.monotonic() + INDEXED_WITHIN_SECONDS
    while time.monotonic() < deadline:
        timeline = seller.session.get(f"/v1/repos/{repo.repo_id}")["timeline"]
        if any(e["type"] == "repo.CouponManufactured" for e in timeline):
            stage.gateway_steps.append("coupon in the repo timeline (GET /v1/repos/{repo_id})")
            return
        time.sleep(POLL_SECONDS)
    raise DemoError(f"{repo.label}: the gateway's timeline never showed the coupon")
