"""The demo's GC chapter: the operator lists a general-collateral basket, the two members give each other credit
limits and enter anonymous orders (each signed once by its custodial wallet), the matching service (``reponet
match``, started by ``reponet up``) matches them, and the fill opens a repo on chain at once."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from gateway.demo.exceptions import DemoError
from gateway.demo.records import Member
from gateway.demo.stage import SETTLE_TIMEOUT, Stage
from gateway.ops.chain import send, to_units

RATE_SCALE = 10**18
FILL_POLL_SECONDS = 1.0  # the treasurer's reads count against its per-key budget (120 a minute)
BORROW_CAP, LEND_FLOOR = Decimal("0.0325"), Decimal("0.0300")


def gc_trade(stage: Stage) -> None:
    if "/v1/gc/orders" not in stage.paths or not stage.gateway_trading:
        return
    stage.chapter("The GC order book: two anonymous orders match, and the repo opens at once")
    a, b = stage.members["a"], stage.members["b"]
    cash, bond = stage.cash, stage.gov
    basket_id = f"GC-{cash.symbol}-{stage.tag}"
    stage.ops_session().post(
        "/v1/gc/baskets",
        body={
            "basket_id": basket_id,
            "cash_token": cash.address,
            "min_transfer_amount": str(to_units("1000", cash.decimals)),
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
            "bonds": [{"token": bond.address, "haircut_bps": 200}],
        },
    )
    stage.say(f"operator lists the basket {basket_id}: any {bond.symbol} at a 2% haircut, cash in {cash.symbol}")
    size = to_units("1000000", cash.decimals)
    for member, other in ((a, b), (b, a)):
        assert member.admin is not None
        limit = {"counterparty_id": other.org_id, "limit_units": str(2 * size)}
        member.admin.call("PUT", "/v1/gc/credit-limits", body=limit)
    stage.say("each member's administrator gives the other a credit limit on the book")
    stage.issue_cash(cash, b.custodial, "2000000", f"{b.name}'s custodial wallet")
    send(stage.w3, stage.issuer, stage.tok(bond).functions.mint(a.custodial, to_units("2000000", bond.decimals)),
         f"mint {bond.symbol}")  # fmt: skip
    _enter(stage, a, basket_id, "borrow", BORROW_CAP, size)
    stage.say(f"{a.name} bids for {stage.amount(cash, size)} for one week at up to {BORROW_CAP * 100}% (anonymous)")
    _enter(stage, b, basket_id, "lend", LEND_FLOOR, size)
    stage.say(f"{b.name} offers {stage.amount(cash, size)} at {LEND_FLOOR * 100}% or more; each order is signed once")
    fill = _settled(stage, b)
    stage.say(
        f"matched at the resting order's rate, {Decimal(int(fill['rate'])) / RATE_SCALE * 100:.2f}%: repo "
        f"#{fill['repo_id']} is open, {a.name} delivered {bond.symbol} to escrow and received the cash; nobody signed "
        "again"
    )
    stage.gateway_steps.append("GC order book (POST /v1/gc/orders, reponet match)")


def _custodial_id(member: Member) -> str:
    rows: list[dict[str, Any]] = member.session.get("/v1/wallets")["data"]
    return next(str(w["id"]) for w in rows if str(w["address"]).lower() == member.custodial.lower())


def _enter(stage: Stage, member: Member, basket_id: str, side: str, rate: Decimal, size: int) -> None:
    member.session.post(
        "/v1/gc/orders",
        body={
            "client_order_id": f"demo-{stage.tag}-{member.key}",
            "wallet_id": _custodial_id(member),
            "basket_id": basket_id,
            "tenor": "1W",
            "side": side,
            "rate": str(int(rate * RATE_SCALE)),
            "size_units": str(size),
        },
    )


def _settled(stage: Stage, member: Member) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        fills: list[dict[str, Any]] = member.session.get("/v1/gc/fills")["data"]
        done = [f for f in fills if f["status"] != "settling"]
        if done:
            if done[0]["status"] != "settled":
                raise DemoError(f"the GC fill did not settle: {done[0].get('failure')}")
            return done[0]
        time.sleep(FILL_POLL_SECONDS)
    raise DemoError("the GC orders did not match and settle in time (is `reponet match` running?)")
