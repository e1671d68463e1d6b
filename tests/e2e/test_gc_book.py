"""The GC order book end to end, on Anvil and on our node: the operator lists a basket, two members set credit
limits toward each other and enter anonymous orders (each signed once by its custodial wallet through the custody
door), the matching service (its loop, over the gateway's API with its own operator key) matches them, and the
fill opens a repo on chain through the outbox with no further signature: A (the borrower) sells the basket's bond,
B (the lender) buys, at the resting order's rate. The matching service's key can only fill within what both signed:
an outcome outside an order's limits is refused whole (400); a repeated outcome changes nothing."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import delete, func, select

from gateway.db.models import AuditEntry, Role
from gateway.matching.book import Book
from gateway.matching.cli import grant, write_config
from gateway.matching.credit import CreditLimits
from gateway.matching.models import GcFill, GcInstruction, GcOrder
from gateway.matching.runner import Runner
from gateway.policy.engine import Rule
from gateway.settlement_records.models import Settlement
from gateway.trading.models import PolicyVersion
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env, env
from tests.e2e.test_trading_chain import settled, wait_for
from tests.gateway.market import call, register_self_held, step_up

pytestmark = pytest.mark.slow
__all__ = ["env"]  # the lifecycle module's chain, deployment and gateway, shared

C = 10**CASH_DECIMALS
SELLER, BUYER, COLLATERAL_TOKEN, PURCHASE_PRICE, RATE, HAIRCUT_BPS = 0, 1, 3, 4, 5, 7  # IRepoEngine.Repo
OPENED_AT, MATURITY = 9, 10
HAIRCUT = 200
SIZE = 40_000 * C


def _basket(env: Env, basket_id: str) -> dict[str, Any]:
    step_up(env.admin)
    body = {
        "basket_id": basket_id,
        "cash_token": env.cash,
        "day_count_basis": 360,
        "min_transfer_amount": str(1_000 * C),
        "margin_cure_period_seconds": 3600,
        "grace_period_seconds": 3600,
        "bonds": [{"token": env.bond, "haircut_bps": HAIRCUT}],
    }
    r = call(env.admin, "/v1/gc/baskets", json=body)
    assert r.status_code == 201, r.text
    again = call(env.admin, "/v1/gc/baskets", json=body)
    assert again.status_code == 409, again.text  # a listed basket never changes
    return dict(r.json())


def _order(env: Env, member: Any, wallet: dict[str, Any], basket_id: str, **fields: Any) -> dict[str, Any]:
    step_up(member)
    body = {"wallet_id": wallet["id"], "basket_id": basket_id, "tenor": "1W", "size_units": str(SIZE), **fields}
    r = call(member, "/v1/gc/orders", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _matcher(env: Env, tmp: Path) -> Runner:
    """The matching service's loop on the gateway's API, with its own operator key (scope matching:run)."""
    config = write_config(tmp, gateway_url="http://testserver", ca_file=tmp / "none.pem")
    with env.world.ctx.sessions() as session:
        grant(session, config_path=config, operator_email=env.admin.user.email, days=30)
    key = str(json.loads(config.read_text())["api_key"])
    return Runner(env.world.client, Book(instruments=[], credit=CreditLimits()), api_key=lambda: key)


def _limits(env: Env, units: int = SIZE) -> None:
    for key, other in (("a", "b"), ("b", "a")):
        admin = env.world.user(key, Role.MEMBER_ADMIN, f"{key}gcadmin{units}")
        body = {"counterparty_id": str(env.world.orgs[other]), "limit_units": str(units)}
        r = admin.client.put("/v1/gc/credit-limits", json=body, headers=admin.headers)
        assert r.status_code == 200, r.text


def test_two_anonymous_orders_match_and_the_repo_opens_on_chain(env: Env, tmp_path: Path) -> None:
    env.price("98")
    basket = _basket(env, f"GC-EUR-{env.d.chain.kind}")
    _limits(env)
    runner = _matcher(env, tmp_path)
    repos_before = int(env.d.engine.functions.repoCount().call())

    # A borrows cash against the basket at up to 4 %; B lends at 3 % or more. A's order rests first.
    borrow = _order(env, env.a_trader, env.a_wallet, basket["basket_id"], client_order_id="a-1", side="borrow",
                    rate=str(4 * 10**16), min_fill_units=str(1_000 * C))  # fmt: skip
    assert borrow["status"] == "pending"
    while runner.step():
        pass
    depth = env.b_trader.get("/v1/gc/depth", params={"basket_id": basket["basket_id"], "tenor": "1W"}).json()
    assert depth["borrow"] == [{"rate": str(4 * 10**16), "total_units": str(SIZE), "orders": 1}] and depth["lend"] == []

    # Only the operator's matching key reads the instructions; a member's person is refused.
    assert env.b_trader.get("/v1/gc/instructions").status_code == 403

    _order(env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-1", side="lend",
                  rate=str(3 * 10**16), size_units=str(SIZE // 2))  # fmt: skip
    matched_at = time.monotonic()
    while runner.step():
        pass
    fills = wait_for(
        lambda: env.b_trader.get("/v1/gc/fills").json()["data"],
        lambda data: bool(data) and data[0]["status"] != "settling",
        timeout=60,
    )
    opened_in = time.monotonic() - matched_at
    fill = fills[0]
    assert fill["status"] == "settled", fill
    assert (fill["side"], fill["amount_units"], fill["rate"]) == ("lend", str(SIZE // 2), str(4 * 10**16))
    repo = env.d.engine.functions.getRepo(int(fill["repo_id"])).call()
    assert (repo[SELLER], repo[BUYER]) == (env.a_wallet["address"], env.b_wallet["address"])  # A sells, B buys
    assert (repo[PURCHASE_PRICE], repo[RATE], repo[HAIRCUT_BPS]) == (SIZE // 2, 4 * 10**16, HAIRCUT)
    assert repo[COLLATERAL_TOKEN] == env.bond
    assert int(env.d.engine.functions.repoCount().call()) == repos_before + 1
    print(f"\nGC match to repo final on {env.d.chain.kind}: {opened_in:.2f} s")

    # The market sees an anonymous trade, and the day's fixing is its rate.
    market = {"basket_id": basket["basket_id"], "tenor": "1W"}
    trades = env.admin.get("/v1/gc/trades", params=market).json()["data"]
    assert [(t["rate"], t["amount_units"]) for t in trades] == [(str(4 * 10**16), str(SIZE // 2))]
    assert not {"lend_order_id", "borrow_order_id", "repo_id", "order_id"} & set(trades[0])
    fixing = env.a_trader.get("/v1/gc/fixings", params={**market, "date": fill["created_at"][:10]}).json()
    assert (fixing["rate"], fixing["volume_units"], fixing["fills"]) == (str(4 * 10**16), str(SIZE // 2), 1)

    a_fills = env.a_trader.get("/v1/gc/fills").json()["data"]
    assert [(f["side"], f["repo_id"]) for f in a_fills] == [("borrow", fill["repo_id"])]
    orders = {o["client_order_id"]: o for o in env.a_trader.get("/v1/gc/orders").json()["data"]}
    assert (orders["a-1"]["status"], orders["a-1"]["filled_units"]) == ("resting", str(SIZE // 2))
    b_orders = {o["client_order_id"]: o for o in env.b_trader.get("/v1/gc/orders").json()["data"]}
    assert b_orders["b-1"]["status"] == "filled"


def test_the_matching_key_cannot_fill_outside_the_signed_orders(env: Env, tmp_path: Path) -> None:
    """Answers the matching service's key might forge: each refused whole (400), nothing recorded. A cancelled order
    is void on chain too (its wallet cancelled the order's nonce)."""
    basket = _basket(env, f"GC-EUR-X-{env.d.chain.kind}")
    runner = _matcher(env, tmp_path)
    headers = {"X-API-Key": runner.api_key()}
    cancelled = _order(env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-gone", side="lend",
                       rate=str(3 * 10**16))  # fmt: skip
    while runner.step():
        pass
    gone = env.b_trader.client.delete(f"/v1/gc/orders/{cancelled['id']}", headers=env.b_trader.headers)
    assert gone.status_code == 202, gone.text
    while runner.step():
        pass
    assert _status(env, "b-gone") == "cancelled"
    maker, nonce = env.b_wallet["address"], _signed_nonce(env, cancelled["id"])
    wait_for(lambda: env.d.engine.functions.nonceUsed(maker, nonce).call(), bool)  # void on chain too

    borrow = _order(env, env.a_trader, env.a_wallet, basket["basket_id"], client_order_id="a-x", side="borrow",
                    rate=str(4 * 10**16))  # fmt: skip
    lend = _order(
        env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-x", side="lend", rate=str(45 * 10**15)
    )  # fmt: skip  (above A's cap: the book never crosses them)
    pending = runner.http.get("/v1/gc/instructions", params={"after": runner.after}, headers=headers).json()["data"]
    assert [i["order"]["order_id"] for i in pending] == [borrow["id"], lend["id"]]
    with env.world.ctx.sessions() as session:
        fills_before = session.scalar(select(func.count()).select_from(GcFill))
        used_sequence = session.scalar(select(func.max(GcFill.sequence)))

    def fill(lend_id: str, rate: int, sequence: int = 10_000) -> dict[str, Any]:
        return {"sequence": sequence, "lend_order_id": lend_id, "borrow_order_id": borrow["id"], "rate": str(rate),
                "amount_units": str(SIZE // 4)}  # fmt: skip

    out_of_turn = runner.http.post("/v1/gc/outcomes", json={"sequence": pending[1]["sequence"]}, headers=headers)
    assert out_of_turn.status_code == 409 and "in sequence" in out_of_turn.json()["detail"], out_of_turn.text
    forgeries = {
        "outside the orders' bounds": [fill(lend["id"], 4 * 10**16)],  # below the lender's floor
        "is cancelled": [fill(cancelled["id"], 4 * 10**16)],  # crosses, but its member cancelled it
        "repeated": [fill(lend["id"], 4 * 10**16, used_sequence or 1)],
    }
    for reason, fills in forgeries.items():
        refused = runner.http.post("/v1/gc/outcomes", json={"sequence": pending[0]["sequence"], "fills": fills},
                                   headers=headers)  # fmt: skip
        assert refused.status_code == 400 and reason in refused.json()["detail"], (reason, refused.text)
        with env.world.ctx.sessions() as session:
            assert session.scalar(select(func.count()).select_from(GcFill)) == fills_before, reason

    # The loop answers (both rest: no cross); a repeated answer changes nothing.
    while runner.step():
        pass
    again = runner.http.post("/v1/gc/outcomes", json={"sequence": pending[1]["sequence"]}, headers=headers)
    assert again.status_code == 200 and again.json()["recorded"] is False, again.text
    assert _status(env, "b-x") == "resting"


def _signed_nonce(env: Env, order_id: str) -> int:
    with env.world.ctx.sessions() as session:
        row = session.get(GcOrder, uuid.UUID(order_id))
        assert row is not None and row.signed is not None
        return int(row.signed["nonce"])


def test_orders_the_gateway_refuses_change_nothing(env: Env) -> None:
    """A forward start beyond a year, an unknown tenor or basket, a basket the member's policy blocks: each refused,
    nothing signed or queued; the policy's refusal is on the audit chain."""
    basket = _basket(env, f"GC-EUR-P-{env.d.chain.kind}")
    with env.world.ctx.sessions() as session:
        instructions_before = session.scalar(select(func.count()).select_from(GcInstruction))
    step_up(env.a_trader)
    base = {"wallet_id": env.a_wallet["id"], "basket_id": basket["basket_id"], "side": "borrow",
            "rate": str(4 * 10**16), "size_units": str(SIZE)}  # fmt: skip
    far = call(env.a_trader, "/v1/gc/orders", json={**base, "client_order_id": "p-fwd", "tenor": "TN",
                                                      "forward_start_days": 366})  # fmt: skip
    assert far.status_code == 422, far.text  # a forward start opens within a year
    odd = call(env.a_trader, "/v1/gc/orders", json={**base, "client_order_id": "p-2y", "tenor": "2Y"})
    assert odd.status_code == 400 and "unknown tenor" in odd.json()["detail"], odd.text
    unknown = call(env.a_trader, "/v1/gc/orders", json={**base, "client_order_id": "p-x", "basket_id": "NOPE",
                                                          "tenor": "1W"})  # fmt: skip
    assert unknown.status_code == 404, unknown.text

    rule = Rule.model_validate({"name": "no large GC", "when": {"notional_over": "1000"}, "action": "block"})
    with env.world.ctx.sessions.begin() as session:
        session.add(
            PolicyVersion(
                id=uuid.uuid4(),
                organization_id=env.world.orgs["a"],
                version=1,
                rules=[rule.model_dump(mode="json")],
                status="active",
                is_active=True,
                created_by=env.a_trader.user.id,
            )
        )
    try:
        blocked = call(env.a_trader, "/v1/gc/orders", json={**base, "client_order_id": "p-big", "tenor": "1W"})
        assert blocked.status_code == 403 and blocked.json()["code"] == "policy-blocked", blocked.text
        with env.world.ctx.sessions() as session:
            refusal = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "custody.refused").order_by(AuditEntry.sequence.desc())
            ).first()
            assert refusal is not None and refusal.object_id == env.a_wallet["id"]
            assert session.scalar(select(func.count()).select_from(GcInstruction)) == instructions_before
            assert session.scalar(select(GcOrder).where(GcOrder.client_order_id == "p-big")) is None
    finally:
        with env.world.ctx.sessions.begin() as session:
            session.execute(delete(PolicyVersion).where(PolicyVersion.organization_id == env.world.orgs["a"]))


def test_orders_expire_at_the_end_of_the_trading_day(env: Env, tmp_path: Path) -> None:
    if env.d.chain.kind != "anvil":
        pytest.skip("our node's clock is the wall clock: the trading day cannot end within a test")
    basket = _basket(env, "GC-EUR-EOD")
    runner = _matcher(env, tmp_path)
    order = _order(env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-eod", side="lend",
                   rate=str(5 * 10**16))  # fmt: skip
    while runner.step():
        pass
    assert _status(env, "b-eod") == "resting"
    env.d.advance(2 * 86_400)  # past the order's signed deadline, the end of its trading day

    def drained() -> str:
        while runner.step():
            pass
        return _status(env, "b-eod")

    assert wait_for(drained, lambda status: status == "expired", timeout=60) == "expired"
    with env.world.ctx.sessions() as session:
        expiries = session.scalars(
            select(GcInstruction).where(
                GcInstruction.order_id == uuid.UUID(order["id"]), GcInstruction.action == "expire"
            )
        ).all()
        assert len(expiries) == 1  # asked once, however many sweeps ran


def _fill_of(env: Env, order_id: str) -> dict[str, Any]:
    """A's fill of its order ``order_id``, once it has settled or failed."""
    fills = lambda: env.a_trader.get("/v1/gc/fills").json()["data"]  # noqa: E731
    return dict(wait_for(lambda: next(f for f in fills() if f["order_id"] == order_id),
                         lambda f: f["status"] != "settling", timeout=60))  # fmt: skip


def _status(env: Env, client_order_id: str) -> str:
    orders = env.b_trader.get("/v1/gc/orders").json()["data"]
    return str(next(o["status"] for o in orders if o["client_order_id"] == client_order_id))


def test_a_repurchased_gc_repo_gives_its_credit_back(env: Env, tmp_path: Path) -> None:
    if env.d.chain.kind != "anvil":
        pytest.skip("our node's clock is the wall clock: a 1W repo cannot reach its maturity within a test")
    env.price("98")
    basket = _basket(env, "GC-EUR-REL")
    runner = _matcher(env, tmp_path)
    a, b = str(env.world.orgs["a"]), str(env.world.orgs["b"])
    _order(env, env.a_trader, env.a_wallet, basket["basket_id"], client_order_id="a-rel", side="borrow",
           rate=str(4 * 10**16), size_units=str(SIZE // 4))  # fmt: skip
    _order(env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-rel", side="lend",
           rate=str(4 * 10**16), size_units=str(SIZE // 4))  # fmt: skip
    while runner.step():
        pass
    fill = wait_for(
        lambda: next(f for f in env.b_trader.get("/v1/gc/fills").json()["data"] if f["basket_id"] == "GC-EUR-REL"),
        lambda f: f["status"] != "settling",
        timeout=60,
    )
    assert fill["status"] == "settled", fill
    used = runner.book.credit.exposure(member=b, counterparty=a).used_units
    assert used >= SIZE // 4  # this fill's amount, and any earlier test's still open

    repo_id = int(fill["repo_id"])
    maturity = int(env.d.engine.functions.getRepo(repo_id).call()[MATURITY])
    env.d.advance(max(0, maturity - env.d.now()) + 1)
    step_up(env.a_trader)
    settled(env.a_trader, call(env.a_trader, f"/v1/repos/{repo_id}/repurchase"))

    def released() -> list[GcInstruction]:
        with env.world.ctx.sessions() as session:
            return list(session.scalars(select(GcInstruction).where(GcInstruction.action == "release")).all())

    # the indexer sees the repo end and tells the book once; the pair's usage falls by the fill's amount
    rows = wait_for(released, bool, timeout=60)
    assert [r.payload for r in rows] == [{"lender": b, "borrower": a, "amount_units": str(SIZE // 4)}]
    while runner.step():
        pass
    assert runner.book.credit.exposure(member=b, counterparty=a).used_units == used - SIZE // 4
    assert runner.book.credit.exposure(member=a, counterparty=b).used_units == used - SIZE // 4


def test_a_self_held_wallets_order_is_signed_by_its_own_key(env: Env, tmp_path: Path) -> None:
    env.price("98")
    basket = _basket(env, f"GC-EUR-SH-{env.d.chain.kind}")
    runner = _matcher(env, tmp_path)
    key = Account.create()
    wallet = register_self_held(env.a_trader, key.address, key, "gc self-held")
    env.d.send(env.d.deployer, env.d.bond.functions.mint(key.address, 100_000 * 10**BOND_DECIMALS))
    env.d.send(key, env.d.bond.functions.approve(env.engine, 2**256 - 1))  # its own approval: the gateway has no key
    size = SIZE // 8

    # prepared, not yet in the book: the wallet's own key signs what the gateway prepared
    order = _order(env, env.a_trader, wallet, basket["basket_id"], client_order_id="a-sh", side="borrow",
                   rate=str(4 * 10**16), size_units=str(size))  # fmt: skip
    assert order["status"] == "unsigned"
    while runner.step():
        pass
    market = {"basket_id": basket["basket_id"], "tenor": "1W"}
    assert env.b_trader.get("/v1/gc/depth", params=market).json()["borrow"] == []
    assert env.b_trader.get(f"/v1/gc/orders/{order['id']}/typed-data").status_code == 404  # another member's
    doc = env.a_trader.get(f"/v1/gc/orders/{order['id']}/typed-data").json()
    assert doc["primary_type"] == "GcOrder" and doc["typed_data"]["message"]["maker"] == key.address
    path = f"/v1/gc/orders/{order['id']}/signature"
    bigger = dict(doc["typed_data"], message={**doc["typed_data"]["message"], "size": str(size * 10)})
    for bad in (Account.create().sign_typed_data(full_message=doc["typed_data"]),  # not the wallet's key
                key.sign_typed_data(full_message=bigger)):  # the wallet's key over another order  # fmt: skip
        r = call(env.a_trader, path, json={"signature": "0x" + bytes(bad.signature).hex()})
        assert r.status_code == 400 and r.json()["type"].endswith("/invalid-signature"), r.text
    good = "0x" + bytes(key.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    signed = call(env.a_trader, path, json={"signature": good})
    assert signed.status_code == 200 and signed.json()["status"] == "pending", signed.text
    again = call(env.a_trader, path, json={"signature": good})
    assert again.status_code == 409, again.text

    _order(env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-sh", side="lend",
           rate=str(3 * 10**16), size_units=str(size))  # fmt: skip
    while runner.step():
        pass
    fill = _fill_of(env, order["id"])
    assert fill["status"] == "settled", fill
    repo = env.d.engine.functions.getRepo(int(fill["repo_id"])).call()
    assert (repo[SELLER], repo[BUYER], repo[PURCHASE_PRICE]) == (key.address, env.b_wallet["address"], size)


def test_an_unsigned_order_cancelled_takes_no_signature(env: Env) -> None:
    basket_id = f"GC-EUR-SH-{env.d.chain.kind}"  # listed by the test above
    key = Account.create()
    wallet = register_self_held(env.a_trader, key.address, key, "gc self-held 2")
    order = _order(env, env.a_trader, wallet, basket_id, client_order_id="a-sh-2", side="borrow",
                   rate=str(4 * 10**16), size_units=str(SIZE // 8))  # fmt: skip
    doc = env.a_trader.get(f"/v1/gc/orders/{order['id']}/typed-data").json()
    step_up(env.a_trader)
    cancelled = env.a_trader.client.delete(f"/v1/gc/orders/{order['id']}", headers=env.a_trader.headers)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled", cancelled.text
    good = "0x" + bytes(key.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    r = call(env.a_trader, f"/v1/gc/orders/{order['id']}/signature", json={"signature": good})
    assert r.status_code == 409, r.text
    with env.world.ctx.sessions() as session:
        queued = session.scalars(select(GcInstruction).where(GcInstruction.order_id == uuid.UUID(order["id"]))).all()
        assert queued == []  # the book never heard of it


def test_a_fill_a_self_held_wallet_has_not_approved_fails_and_gives_its_credit_back(env: Env, tmp_path: Path) -> None:
    env.price("98")
    basket_id = f"GC-EUR-SH-{env.d.chain.kind}"  # listed by the test above
    runner = _matcher(env, tmp_path)
    key = Account.create()
    wallet = register_self_held(env.a_trader, key.address, key, "gc self-held 3")
    env.d.send(env.d.deployer, env.d.bond.functions.mint(key.address, 100_000 * 10**BOND_DECIMALS))  # no approval
    order = _order(env, env.a_trader, wallet, basket_id, client_order_id="a-sh-3", side="borrow",
                   rate=str(4 * 10**16), size_units=str(SIZE // 4))  # fmt: skip  # more than B lends: it rests on
    doc = env.a_trader.get(f"/v1/gc/orders/{order['id']}/typed-data").json()
    good = "0x" + bytes(key.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    assert call(env.a_trader, f"/v1/gc/orders/{order['id']}/signature", json={"signature": good}).status_code == 200
    _order(env, env.b_trader, env.b_wallet, basket_id, client_order_id="b-sh-3", side="lend",
           rate=str(3 * 10**16), size_units=str(SIZE // 8))  # fmt: skip
    while runner.step():
        pass
    fill = next(f for f in env.a_trader.get("/v1/gc/fills").json()["data"] if f["order_id"] == order["id"])
    assert (fill["status"], fill["failure"]) == ("failed", "the fill could not settle")  # before any transaction
    with env.world.ctx.sessions() as session:
        row = session.get(GcFill, fill["sequence"])
        assert row is not None and row.settlement_id is None and row.credit_released_at is not None
    # the order that could not settle leaves the book, so it cannot use up another member's order again
    while runner.step():
        pass
    mine = {o["client_order_id"]: o for o in env.a_trader.get("/v1/gc/orders").json()["data"]}
    assert (mine["a-sh-3"]["status"], mine["a-sh-3"]["cancel_reason"]) == ("cancelled", "cannot_settle")


def test_an_amend_lowers_the_size_the_book_fills(env: Env, tmp_path: Path) -> None:
    env.price("98")
    basket_id = f"GC-EUR-SH-{env.d.chain.kind}"  # listed by an earlier test
    runner = _matcher(env, tmp_path)
    order = _order(env, env.a_trader, env.a_wallet, basket_id, client_order_id="a-amend", side="borrow",
                   rate=str(4 * 10**16), size_units=str(SIZE // 8), min_fill_units=str(C))  # fmt: skip
    while runner.step():
        pass
    step_up(env.a_trader)
    path = f"/v1/gc/orders/{order['id']}"
    higher = env.a_trader.client.patch(path, json={"size_units": str(SIZE)}, headers=env.a_trader.headers)
    assert higher.status_code == 400, higher.text  # a higher size is a new order
    lower = env.a_trader.client.patch(path, json={"size_units": str(SIZE // 16)}, headers=env.a_trader.headers)
    assert lower.status_code == 202, lower.text
    while runner.step():
        pass
    mine = {o["client_order_id"]: o for o in env.a_trader.get("/v1/gc/orders").json()["data"]}
    assert (mine["a-amend"]["status"], mine["a-amend"]["size_units"]) == ("resting", str(SIZE // 16))

    _order(env, env.b_trader, env.b_wallet, basket_id, client_order_id="b-amend", side="lend",
           rate=str(3 * 10**16), size_units=str(SIZE // 8))  # fmt: skip
    while runner.step():
        pass
    fill = _fill_of(env, order["id"])
    assert (fill["status"], fill["amount_units"]) == ("settled", str(SIZE // 16)), fill
    repo = env.d.engine.functions.getRepo(int(fill["repo_id"])).call()
    assert repo[PURCHASE_PRICE] == SIZE // 16


def test_a_tom_next_fill_waits_for_its_opening_day_and_a_cancel_voids_the_order_only_after(
    env: Env, tmp_path: Path
) -> None:
    """A tom-next match is binding at once and opens the next day: scheduled until the chain's clock reaches it,
    then opened by the indexer's sweep within the day both orders signed. A's cancel of its rest meanwhile takes it
    out of the book at once, but holds the on-chain void of its nonce until the fill has opened (a void now would
    make the engine refuse the trade A agreed). An unfilled tom-next order is voided once it leaves the book at its
    trading day's end, since its signature would hold until the next day's end."""
    env.price("98")
    basket = _basket(env, f"GC-EUR-TN-{env.d.chain.kind}")
    _limits(env, 4 * SIZE)  # room beside what earlier tests' repos still use
    runner = _matcher(env, tmp_path)
    repos_before = int(env.d.engine.functions.repoCount().call())
    borrow = _order(env, env.a_trader, env.a_wallet, basket["basket_id"], client_order_id="a-tn", side="borrow",
                    tenor="TN", rate=str(4 * 10**16), size_units=str(SIZE // 4))  # fmt: skip
    _order(env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-tn", side="lend", tenor="TN",
           rate=str(3 * 10**16), size_units=str(SIZE // 8))  # fmt: skip
    rest = _order(env, env.b_trader, env.b_wallet, basket["basket_id"], client_order_id="b-tn-rest", side="lend",
                  tenor="TN", rate=str(5 * 10**16), size_units=str(SIZE // 8))  # fmt: skip  # above A's cap: it rests
    while runner.step():
        pass
    fill = next(f for f in env.a_trader.get("/v1/gc/fills").json()["data"] if f["order_id"] == borrow["id"])
    today = env.d.now() // 86_400 * 86_400
    assert (fill["status"], fill["repo_id"], fill["amount_units"]) == ("scheduled", None, str(SIZE // 8)), fill
    assert int(datetime.fromisoformat(fill["opens_at"]).timestamp()) == today + 86_400  # the next UTC day
    assert int(env.d.engine.functions.repoCount().call()) == repos_before  # nothing opened today

    voids = select(func.count()).select_from(Settlement).where(Settlement.kind == "gc_cancel")
    with env.world.ctx.sessions() as session:
        voids_before = session.scalar(voids)
    step_up(env.a_trader)
    cancelled = env.a_trader.client.delete(f"/v1/gc/orders/{borrow['id']}", headers=env.a_trader.headers)
    assert cancelled.status_code == 202, cancelled.text
    while runner.step():
        pass
    mine = {o["client_order_id"]: o for o in env.a_trader.get("/v1/gc/orders").json()["data"]}
    assert mine["a-tn"]["status"] == "cancelled"
    with env.world.ctx.sessions() as session:
        assert session.scalar(voids) == voids_before  # no void queued while the fill waits
    maker, nonce = env.a_wallet["address"], _signed_nonce(env, borrow["id"])
    with env.world.ctx.sessions() as session:
        held = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.object_id == borrow["id"], AuditEntry.action == "gc.order.void_held"
            )
        ).all()
        assert held == ["gc.order.void_held"]
    assert not env.d.engine.functions.nonceUsed(maker, nonce).call()  # not voided: the fill would fail

    if env.d.chain.kind != "anvil":
        pytest.skip("our node's clock is the wall clock: tomorrow cannot come within a test (Anvil's run opens it)")
    env.d.advance(today + 86_400 - env.d.now() + 60)  # a minute into the opening day
    env.price("98")  # the morning's prices: the sweep tries again until there are some
    fill = wait_for(
        lambda: next(f for f in env.a_trader.get("/v1/gc/fills").json()["data"] if f["order_id"] == borrow["id"]),
        lambda f: f["status"] in ("settled", "failed"),
        timeout=90,
    )
    assert fill["status"] == "settled", fill
    repo = env.d.engine.functions.getRepo(int(fill["repo_id"])).call()
    assert (repo[SELLER], repo[BUYER], repo[PURCHASE_PRICE]) == (env.a_wallet["address"], env.b_wallet["address"],
                                                                  SIZE // 8)  # fmt: skip
    assert repo[OPENED_AT] >= today + 86_400 and repo[MATURITY] == today + 2 * 86_400  # opens tomorrow, for a night
    wait_for(lambda: env.d.engine.functions.nonceUsed(maker, nonce).call(), bool, timeout=60)  # now void on chain

    # B's unfilled order left the book at its trading day's end; its signature, good until tomorrow's end, is voided
    def drained() -> str:
        while runner.step():
            pass
        return _status(env, "b-tn-rest")

    assert wait_for(drained, lambda status: status == "expired", timeout=60) == "expired"
    b_nonce = _signed_nonce(env, rest["id"])
    wait_for(lambda: env.d.engine.functions.nonceUsed(env.b_wallet["address"], b_nonce).call(), bool, timeout=60)


def test_a_new_rate_replaces_the_order_in_one_step(env: Env, tmp_path: Path) -> None:
    """Cancel/replace: the unfilled rest at another rate is a new order (new signature, new priority, its own
    client_order_id), and the old one leaves the book and is voided; another member's order cannot be replaced, and
    a replacement id already taken changes nothing."""
    basket = _basket(env, f"GC-EUR-RP-{env.d.chain.kind}")
    runner = _matcher(env, tmp_path)
    old = _order(env, env.a_trader, env.a_wallet, basket["basket_id"], client_order_id="a-rp", side="borrow",
                 rate=str(4 * 10**16), size_units=str(SIZE // 8))  # fmt: skip
    while runner.step():
        pass
    path = f"/v1/gc/orders/{old['id']}/replace"
    step_up(env.b_trader)
    assert call(env.b_trader, path, json={"client_order_id": "b-rp", "rate": "1"}).status_code == 404
    step_up(env.a_trader)
    taken = call(env.a_trader, path, json={"client_order_id": "a-rp", "rate": str(45 * 10**15)})
    assert taken.status_code == 409, taken.text
    r = call(env.a_trader, path, json={"client_order_id": "a-rp-2", "rate": str(45 * 10**15)})
    assert r.status_code == 201, r.text
    new = r.json()
    assert (new["rate"], new["size_units"], new["tenor"], new["side"]) == (str(45 * 10**15), str(SIZE // 8), "1W",
                                                                           "borrow")  # fmt: skip
    while runner.step():
        pass
    mine = {o["client_order_id"]: o for o in env.a_trader.get("/v1/gc/orders").json()["data"]}
    assert (mine["a-rp"]["status"], mine["a-rp-2"]["status"]) == ("cancelled", "resting")
    depth = env.b_trader.get("/v1/gc/depth", params={"basket_id": basket["basket_id"], "tenor": "1W"}).json()
    assert depth["borrow"] == [{"rate": str(45 * 10**15), "total_units": str(SIZE // 8), "orders": 1}]
    maker, nonce = env.a_wallet["address"], _signed_nonce(env, old["id"])
    wait_for(lambda: env.d.engine.functions.nonceUsed(maker, nonce).call(), bool)  # the old signature is void
    assert _signed_nonce(env, new["id"]) != nonce
