"""The demo's coupon chapter: the bond in the engine's escrow pays a coupon during the repo, and the engine passes
it to the seller in the same transaction (a GMRA 5 manufactured payment).

The issuer acts as the bond's paying agent: it sets the coupon schedule (once per bond), holds cash as a registry
system account (admitted by ``reponet up`` before the admin hand-over, as the escrow is), funds the coupon and pays
the repo's share through ``RepoEngine.payCoupon`` — through the gateway's issuer endpoints when it has them
(``gateway.operator.coupons``), else with the issuer key. Kept apart from ``story.py`` so the story stays a sequence of
chapters."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from web3 import Web3

from gateway.demo.exceptions import DemoError
from gateway.ops.chain import send

if TYPE_CHECKING:
    from gateway.demo.story import RepoRecord, Story

# Seconds from now to the coupon's record date and payment date: short, so the demo does not wait long.
RECORD_IN_SECONDS = 4
PAY_IN_SECONDS = 7
SCHEDULE_ROUTE = "/v1/operator/coupon-schedules"
PAY_ROUTE = "/v1/operator/repos/{repo_id}/coupons/pay"
PERIODS_PER_YEAR = 2
INDEXED_WITHIN_SECONDS = 60.0
POLL_SECONDS = 0.25


def coupon_reaches_seller(story: Story, repo: RepoRecord) -> None:
    """Sets a coupon on the repo's bond, waits for its payment date, pays it and checks the seller received it."""
    story.chapter(f"A coupon on {repo.label}'s collateral reaches the seller")
    bond = story.tok(story.gov)
    cash = story.tok(story.cash)
    engine = story.engine
    if int(bond.functions.couponCount().call()) != 0:
        story.say(f"[dim]{story.gov.symbol} has its coupon schedule from an earlier run: no coupon this time[/dim]")
        return
    via_gateway = story.gateway_trading and {SCHEDULE_ROUTE, PAY_ROUTE} <= story.paths
    now = max(story._now(), int(time.time()))  # a chain that seals only for work keeps an old head timestamp
    record, pay = now + RECORD_IN_SECONDS, now + PAY_IN_SECONDS
    if via_gateway:
        body = {
            "bond": story.gov.address,
            "coupon_token": story.cash.address,
            "periods_per_year": PERIODS_PER_YEAR,
            "coupons": [{"record_date": _iso(record), "payment_date": _iso(pay)}],
        }
        story.settle(story._ops().post(SCHEDULE_ROUTE, body=body), "coupon schedule")
        story.gateway_steps.append(f"coupon schedule (POST {SCHEDULE_ROUTE})")
    else:
        fn = bond.functions.setCouponSchedule(story.cash.address, PERIODS_PER_YEAR, [record], [pay])
        send(story.w3, story.issuer, fn, f"coupon schedule {story.gov.symbol}")
        story.via_chain("coupon schedule (issuer key, BondToken.setCouponSchedule)")

    if not story.registry.functions.isSystemAccount(story.issuer.address).call():
        # Admitted by ``reponet up`` before the admin hand-over; afterwards only the multisig could, behind the delay.
        raise DemoError("the paying agent (issuer key) is not a registry system account: it cannot hold coupon cash")
    index, _, _, units, _ = engine.functions.couponOwed(repo.repo_id).call()
    amount = int(bond.functions.couponAmount(units).call())
    if not via_gateway:
        send(story.w3, story.issuer, cash.functions.mint(story.issuer.address, amount), "mint coupon cash")
        send(story.w3, story.issuer, cash.functions.approve(engine.address, amount), "approve coupon")
    story._wait_until(pay, "the coupon's payment date", story.gov)

    seller = Web3.to_checksum_address(engine.functions.getRepo(repo.repo_id).call()[0])  # the seller's wallet
    before = int(cash.functions.balanceOf(seller).call())
    if via_gateway:  # the issuer's paying-agent endpoint funds, approves and pays from the issuer's account
        story.settle(story._ops().post(PAY_ROUTE.format(repo_id=repo.repo_id)), "coupon payment")
        story.gateway_steps.append(f"coupon payment by the paying agent (POST {PAY_ROUTE})")
    else:
        send(story.w3, story.issuer, engine.functions.payCoupon(repo.repo_id, index), "payCoupon")
        story.via_chain("coupon payment (paying agent = issuer key, RepoEngine.payCoupon)")
    received = int(cash.functions.balanceOf(seller).call()) - before
    event = story.last_event("CouponManufactured", repo)
    if event is None or received != amount or Web3.to_checksum_address(event["to"]) != seller:
        raise DemoError(f"{repo.label}: the coupon did not reach the seller (received {received} of {amount})")
    _wait_indexed(story, repo)
    story.say(
        f"the paying agent pays the coupon on {story.amount(story.gov, int(units))} in escrow; the engine passes "
        f"{story.amount(story.cash, amount)} to the seller in the same transaction (CouponManufactured)"
    )


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _wait_indexed(story: Story, repo: RepoRecord) -> None:
    """The seller sees the manufactured payment in its repo's timeline through the gateway (indexer, then API)."""
    seller = story.members["a"]
    deadline = time.monotonic() + INDEXED_WITHIN_SECONDS
    while time.monotonic() < deadline:
        timeline = seller.session.get(f"/v1/repos/{repo.repo_id}")["timeline"]
        if any(e["type"] == "repo.CouponManufactured" for e in timeline):
            story.gateway_steps.append("coupon in the repo timeline (GET /v1/repos/{repo_id})")
            return
        time.sleep(POLL_SECONDS)
    raise DemoError(f"{repo.label}: the gateway's timeline never showed the coupon")
