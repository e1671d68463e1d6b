"""End to end over JSON-RPC, on Anvil and on our own node: two members trade via RFQ, the repo opens (balances
checked on chain), the price drops, margin is called and cured, collateral is substituted, the rate is changed,
and the seller repurchases at maturity paying exactly the repurchase price. A second repo, agreed as direct terms
with a self-held wallet, defaults and is closed out with a shortfall."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from gateway.db.models import Role
from gateway.events import webhooks
from gateway.positions import accrual
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, ChainProcess, Deployment, deploy, start_chain
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import Member, World
from tests.gateway.market import approve_member, call, custodial_wallet, hub_of, register_self_held, step_up

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS
B = 10**BOND_DECIMALS


@pytest.fixture(params=["anvil", "reponet-node"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain(request.param, tmp_path)


@pytest.fixture
def deployment(chain: ChainProcess) -> Deployment:
    return deploy(chain)


@pytest.fixture
def world(deployment: Deployment, tmp_path: Path) -> Iterator[World]:
    # The member's webhook receiver listens on loopback: allowed only in development, when switched on.
    yield from chain_world(deployment, tmp_path, environment="development", webhook_allow_loopback=True)


def wait_for(fetch: Any, predicate: Any, timeout: float = 60.0) -> Any:
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = fetch()
        if predicate(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out; last: {last}")


def settled(member: Member, response: Any) -> dict[str, Any]:
    """Wait (long poll) until the settlement the response queued is final."""
    assert response.status_code in (200, 201, 202), response.text
    body = response.json()
    settlement = body["settlement"] if "settlement" in body else body
    done = member.get(f"/v1/settlements/{settlement['id']}/wait?timeout=60").json()
    assert done["status"] == "final", done
    assert all(step["status"] == "final" and step["tx_hash"] for step in done["steps"]), done
    return dict(done)


def post_price(admin: Member, confirmer: Member, asset: str, quote: str, percent_of_par: str) -> dict[str, Any]:
    """Post a bond's price in percent of par; a move beyond the bound is confirmed by a second operator person
    (each with a fresh step-up: a long-lived world outlives the sign-in's)."""
    step_up(admin)
    r = call(
        admin, "/v1/operator/prices", json={"asset": asset, "quote": quote, "price_percent_of_par": percent_of_par}
    )
    assert r.status_code == 202, r.text
    if r.json()["status"] == "awaiting_confirmation":
        step_up(confirmer)
        r = call(confirmer, f"/v1/operator/prices/{r.json()['id']}/confirm")
        assert r.status_code == 202, r.text
    return settled(admin, r)


def steps_of(world: World, trade: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """The chain steps behind a trade's settlements, for the failure message of a test that expected an open."""
    from sqlalchemy import select

    from gateway.settlement_records.models import ChainStep, Settlement

    with world.ctx.sessions() as session:
        rows = session.execute(
            select(ChainStep.label, ChainStep.status, ChainStep.error)
            .join(Settlement, Settlement.id == ChainStep.settlement_id)
            .where(Settlement.trade_id == uuid.UUID(trade["id"]))
        ).all()
    return [(label, status, error) for label, status, error in rows]


def repo_state(d: Deployment, repo_id: int) -> Any:
    return d.engine.functions.getRepo(repo_id).call()


class Receiver:
    """A member's webhook endpoint: records what arrives, verifies every signature."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200 if len(outer.received) != 2 else 500)  # one failure: retried
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def unchecksummed(value: Any) -> list[str]:
    """Every address inside ``value`` that is not EIP-55 checksummed."""
    if isinstance(value, str):
        return [value] if _ADDRESS.fullmatch(value) and value != to_checksum_address(value) else []
    if isinstance(value, dict):
        return [a for item in value.values() for a in unchecksummed(item)]
    if isinstance(value, list):
        return [a for item in value for a in unchecksummed(item)]
    return []


def test_rfq_to_repurchase_and_default_to_close_out(
    deployment: Deployment, world: World, request: pytest.FixtureRequest
) -> None:
    d = deployment
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
    a_trader = world.user("a", Role.TRADER, "atrader")
    b_trader = world.user("b", Role.TRADER, "btrader")
    a_approver = world.user("a", Role.APPROVER, "aapprover")
    receiver = Receiver()
    # every JSON body the gateway answers in this repo's life: its addresses must all be checksummed
    lower_case: list[tuple[str, str]] = []

    def watch(response: httpx.Response) -> None:
        response.read()
        if response.headers.get("content-type", "").endswith("json"):
            lower_case.extend((str(response.url), a) for a in unchecksummed(response.json()))

    world.client.event_hooks = {"response": [watch]}
    hook = call(a_approver, "/v1/webhooks", json={"url": receiver.url})
    assert hook.status_code == 201, hook.text
    secrets = [hook.json()["secret"]]
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    ws_a = stack.enter_context(
        world.client.websocket_connect("/v1/stream", headers={**a_trader.headers, "origin": "https://gateway.test"})
    )
    ws_b = stack.enter_context(world.client.websocket_connect("/v1/stream", headers=b_trader.headers))
    assert ws_a.receive_json()["type"] == "subscribed" and ws_b.receive_json()["type"] == "subscribed"
    a_wallet = custodial_wallet(a_trader)
    b_wallet = custodial_wallet(b_trader)
    approve_member(world, "a")
    approve_member(world, "b")
    cash, bond, bond2 = d.addresses["cash"], d.addresses["bond"], d.addresses["bond2"]

    # operator: list instruments, issue cash, post prices
    for address, kind, currency in ((cash, "cash", "EUR"), (bond, "bond", "EUR"), (bond2, "bond", None)):
        r = call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind})
        assert r.status_code == 201, r.text
        assert r.json()["currency"] == currency  # as the oracle names it: cross-currency repos are known as such
    settled(
        admin,
        call(
            admin, "/v1/operator/cash/issue", json={"token": cash, "wallet": b_wallet["address"], "amount": "5000000"}
        ),
    )
    settled(
        admin,
        call(admin, "/v1/operator/cash/issue", json={"token": cash, "wallet": a_wallet["address"], "amount": "100000"}),
    )
    for token in (d.bond, d.bond2):
        d.send(d.deployer, token.functions.mint(a_wallet["address"], 5_000_000 * B))
    for token in (bond, bond2):
        post_price(admin, admin2, token, cash, "98")
    assert d.oracle.functions.getPrice(bond, cash).call()[0] == 9_800 * 10**18

    # RFQ: A borrows 1,000,000 EURD against 1,050,000 nominal of the Bund; B quotes; A accepts
    tenor = 600 if d.chain.kind == "anvil" else 30
    rfq = call(
        a_trader,
        "/v1/rfqs",
        json={
            "seller_wallet_id": a_wallet["id"],
            "cash_token": cash,
            "collateral_token": bond,
            "purchase_price": "1000000",
            "collateral_amount": "1050000",
            "tenor_seconds": tenor,
            "min_transfer_amount": "1000",
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
            "lenders": [str(world.orgs["b"])],
        },
    )
    assert rfq.status_code == 201, rfq.text
    rfq_id = rfq.json()["id"]
    quote = call(
        b_trader,
        f"/v1/rfqs/{rfq_id}/quotes",
        json={"buyer_wallet_id": b_wallet["id"], "rate": "0.035", "haircut_bps": 200},
    )
    assert quote.status_code == 201, quote.text
    trade = call(a_trader, f"/v1/rfqs/{rfq_id}/accept", json={"quote_id": quote.json()["id"]})
    assert trade.status_code == 201, trade.text
    trade_id = trade.json()["id"]
    assert trade.json()["purchase_price"] == "1000000.000000"

    a_cash0 = d.cash.functions.balanceOf(a_wallet["address"]).call()
    for member in (a_trader, b_trader):
        signed = call(member, f"/v1/trades/{trade_id}/sign")
        assert signed.status_code == 200, signed.text
    opened = wait_for(lambda: a_trader.get(f"/v1/trades/{trade_id}").json(), lambda t: t["status"] != "settling")
    assert opened["status"] == "open", (opened, steps_of(world, opened))
    repo_id = opened["repo_id"]
    # on chain: cash B -> A, collateral A -> escrow, position NFT to B
    assert d.cash.functions.balanceOf(a_wallet["address"]).call() == a_cash0 + 1_000_000 * C
    assert d.bond.functions.balanceOf(d.addresses["repo_engine"]).call() == 1_050_000 * B
    assert repo_state(d, repo_id)[8] == 1

    # price drops: margin call by the lender, cured by the seller with cash
    post_price(admin, admin2, bond, cash, "90")
    assert d.engine.functions.exposure(repo_id).call() > 1_000 * C
    settled(b_trader, call(b_trader, f"/v1/repos/{repo_id}/margin-call"))
    outstanding = repo_state(d, repo_id)[20]
    assert repo_state(d, repo_id)[8] == 2 and outstanding > 0
    cure = f"{outstanding // C + 1}"
    settled(a_trader, call(a_trader, f"/v1/repos/{repo_id}/margin", json={"cash_amount": cure}))
    assert repo_state(d, repo_id)[8] == 1  # OPEN again: cured

    # substitution: A proposes the OAT, B consents (custodial signature), A's wallet sends it
    sub = call(
        a_trader,
        f"/v1/repos/{repo_id}/substitutions",
        json={"new_collateral_token": bond2, "new_collateral_amount": "1200000"},
    )
    assert sub.status_code == 201, sub.text
    consent = call(b_trader, f"/v1/instructions/{sub.json()['id']}/sign")
    assert consent.status_code == 200, consent.text
    submitted = call(a_trader, f"/v1/instructions/{sub.json()['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    wait_for(lambda: repo_state(d, repo_id)[3], lambda token: token.lower() == bond2.lower())
    assert d.bond.functions.balanceOf(d.addresses["repo_engine"]).call() == 0

    # re-rate to 4 %: both sign
    amend = call(a_trader, f"/v1/repos/{repo_id}/amendments", json={"kind": "rerate", "new_rate_fraction": "0.04"})
    assert amend.status_code == 201, amend.text
    for member in (a_trader, b_trader):
        r = call(member, f"/v1/instructions/{amend.json()['id']}/sign")
        assert r.status_code == 200, r.text
    wait_for(lambda: repo_state(d, repo_id)[5], lambda rate: rate == 4 * 10**16)

    # maturity passes; A repurchases and B receives exactly RP
    state = repo_state(d, repo_id)
    hub_of(world).now()  # the gateway's chain clock, cached just before the jump...
    d.advance(max(0, state[10] - d.now()) + 1)
    assert abs(hub_of(world).now() - d.now()) <= 2  # ...is not extrapolated across it (terms would expire at once)
    step_up(a_trader)
    for token in (bond, bond2):  # the feeder re-posts (prices age)
        post_price(admin, admin2, token, cash, "90")
    b_cash = d.cash.functions.balanceOf(b_wallet["address"]).call()
    settled(a_trader, call(a_trader, f"/v1/repos/{repo_id}/repurchase"))
    state = repo_state(d, repo_id)
    assert state[8] == 4  # REPURCHASED
    expected = accrual.repurchase_price(
        purchase_price=state[4],
        rate=state[5],
        basis=state[6],
        period_start=state[14],
        maturity=state[10],
        crystallized_pd=state[16],
        at=state[10],
    )
    assert d.cash.functions.balanceOf(b_wallet["address"]).call() == b_cash + expected
    assert d.bond2.functions.balanceOf(d.addresses["repo_engine"]).call() == 0

    # the indexer saw the whole story, in order
    detail = wait_for(
        lambda: a_trader.get(f"/v1/repos/{repo_id}").json(),
        lambda body: "position" in body and body["position"]["status"] == "repurchased",
    )
    names = [e["type"] for e in detail["timeline"]]
    assert names == [
        "repo.RepoOpened",
        "repo.MarginCalled",
        "repo.MarginPosted",
        "repo.MarginCallCured",
        "repo.CollateralSubstituted",
        "repo.RepoRerated",
        "repo.RepoRepurchased",
    ]
    # the WebSocket clients of both parties got the same lifecycle, in order
    for ws in (ws_a, ws_b):
        streamed, market = [], []  # the RFQ, its quote and its acceptance reach both parties' streams too
        while len(streamed) < len(names):
            message = ws.receive_json()
            (streamed if message["type"].startswith("repo.") else market).append(message)
        assert {"rfq.created", "quote.submitted", "rfq.accepted"} <= {m["type"] for m in market}, market
        assert [e["type"] for e in streamed] == names and {e["repo_id"] for e in streamed} == {repo_id}
        assert not unchecksummed(streamed)
        assert streamed == detail["timeline"]  # one body, one unit, whichever way an event goes out
    rerated = detail["timeline"][names.index("repo.RepoRerated")]["data"]
    assert rerated["new_rate_fraction"] == "0.04" and rerated["old_rate_fraction"] == "0.035"
    # webhooks: rotate the secret; later deliveries carry both signatures for a day
    rotated = call(a_approver, f"/v1/webhooks/{hook.json()['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    secrets.append(rotated.json()["secret"])

    # second repo: direct terms with B's self-held wallet; default after an uncured call; close-out, shortfall
    key = Account.create()
    register_self_held(b_trader, key.address, key, "cold")
    assert d.registry.functions.isVerified(key.address).call()
    settled(
        admin, call(admin, "/v1/operator/cash/issue", json={"token": cash, "wallet": key.address, "amount": "200000"})
    )
    d.send(key, d.cash.functions.approve(d.addresses["repo_engine"], 2**256 - 1))  # the self-held wallet's own tx

    step_up(a_trader)
    direct = call(
        a_trader,
        "/v1/trades",
        json={
            "role": "seller",
            "wallet_id": a_wallet["id"],
            "counterparty_wallet": key.address,
            "cash_token": cash,
            "collateral_token": bond,
            "purchase_price": "100000",
            "collateral_amount": "120000",
            "rate": "0.05",
            "haircut_bps": 500,
            "tenor_seconds": 3600,
            "min_transfer_amount": "10",
            "margin_cure_period_seconds": 2,
            "grace_period_seconds": 60,
        },
    )
    assert direct.status_code == 201, direct.text
    trade2 = direct.json()["id"]
    assert call(a_trader, f"/v1/trades/{trade2}/sign").status_code == 200
    doc = b_trader.get(f"/v1/trades/{trade2}/typed-data").json()
    wrong = Account.create().sign_typed_data(full_message=doc["typed_data"])
    refused = call(b_trader, f"/v1/trades/{trade2}/signature", json={"signature": "0x" + bytes(wrong.signature).hex()})
    assert refused.status_code == 400 and refused.json()["type"].endswith("/invalid-signature"), refused.text
    mine = key.sign_typed_data(full_message=doc["typed_data"])
    accepted = call(
        b_trader,
        f"/v1/trades/{trade2}/signature",
        json={"signature": "0x" + bytes(mine.signature).hex()},
    )
    assert accepted.status_code == 200, accepted.text
    opened2 = wait_for(lambda: a_trader.get(f"/v1/trades/{trade2}").json(), lambda t: t["status"] != "settling")
    assert opened2["status"] == "open", (opened2, steps_of(world, opened2))
    repo2 = opened2["repo_id"]

    post_price(admin, admin2, bond, cash, "30")
    settled(b_trader, call(b_trader, f"/v1/repos/{repo2}/margin-call"))
    d.advance(3)
    settled(b_trader, call(b_trader, f"/v1/repos/{repo2}/default"))
    assert repo_state(d, repo2)[8] == 3  # DEFAULTED
    post_price(admin, admin2, bond, cash, "30")
    step_up(b_trader)
    close = call(b_trader, f"/v1/repos/{repo2}/close-out")
    assert close.status_code == 202, close.text
    tx = close.json()["transaction"]  # a self-held holder sends its own close-out
    assert tx["from"] == key.address
    from contracts.deploy import _send

    _send(d.w3, key, {"to": tx["to"], "data": tx["data"]}, "closeOut")
    assert repo_state(d, repo2)[8] == 5  # CLOSED_OUT
    shortfall = d.engine.functions.shortfallOf(repo2).call()
    assert shortfall > 0
    # collateral worth 120,000 x 0.30 = 36,000 against ~100,000 owed: all collateral to the holder
    assert d.bond.functions.balanceOf(key.address).call() == 120_000 * B
    positions = wait_for(lambda: a_trader.get("/v1/positions?status=closed_out").json(), lambda p: len(p["data"]) == 1)
    assert positions["data"][0]["repo_id"] == repo2
    assert positions["data"][0]["shortfall"] == f"{shortfall // C}.{shortfall % C:06d}"

    deliveries = wait_for(
        lambda: a_approver.get(f"/v1/webhooks/{hook.json()['id']}/deliveries").json()["data"],
        # the indexer may not have enqueued the close-out's events yet: wait for the shortfall too
        lambda rows: (
            bool(rows)
            and all(r["status"] == "delivered" for r in rows)
            and any(json.loads(body)["type"] == "repo.RepoShortfallRecorded" for _, body in receiver.received)
        ),
        timeout=30,
    )
    assert any(r["attempts"] == 2 for r in deliveries)  # the one answered 500 was retried
    types = [json.loads(body)["type"] for _, body in receiver.received]
    ids = [h["webhook-id"] for h, _ in receiver.received]
    assert ids.count(ids[1]) == 2  # the second request was answered 500 and delivered again later
    assert "repo.RepoShortfallRecorded" in types
    for headers, body in receiver.received:
        assert webhooks.verify(secrets[0], headers, body) or webhooks.verify(secrets[1], headers, body)
    late = [(h, b) for h, b in receiver.received if len(h["webhook-signature"].split(" ")) == 2]
    assert late
    assert all(webhooks.verify(secrets[1], h, b) and webhooks.verify(secrets[0], h, b) for h, b in late)
    # the indexer replayed from block 0 applies nothing twice; reconcile finds the database equal to the chain
    from sqlalchemy import func, select

    from gateway.indexer.service import Indexer
    from gateway.settlement_records.models import IndexerCursor, RepoEvent

    hub = world.client.app.state.hub  # type: ignore[attr-defined]
    with world.ctx.sessions.begin() as session:
        before = session.execute(select(func.count()).select_from(RepoEvent)).scalar_one()
        session.get(IndexerCursor, "repo_engine").last_block = 0  # type: ignore[union-attr]
    fresh = Indexer(hub.market, world.ctx.sessions)
    head = d.w3.eth.block_number
    for _ in range(100):
        fresh.run_once()
        with world.ctx.sessions() as session:
            if fresh.cursor(session) >= head:
                break
    with world.ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(RepoEvent)).scalar_one() == before
    reconciled = call(a_trader, f"/v1/repos/{repo_id}/reconcile")
    assert reconciled.status_code == 200 and reconciled.json()["differences"] == [], reconciled.text
    # operator: pause stops new opens; unpause resumes
    settled(admin, call(admin, "/v1/operator/pause", json={"target": "engine"}))
    assert d.engine.functions.paused().call()
    settled(admin, call(admin, "/v1/operator/unpause", json={"target": "engine"}))
    assert not d.engine.functions.paused().call()
    b_before = d.cash.functions.balanceOf(b_wallet["address"]).call()
    step_up(b_trader)
    asked = call(b_trader, "/v1/redemptions", json={"wallet_id": b_wallet["id"], "token": cash, "amount": "1"})
    assert asked.status_code == 201, asked.text
    executed = call(admin, f"/v1/operator/redemptions/{asked.json()['id']}/execute")
    assert executed.status_code == 202, executed.text
    settled(b_trader, executed)  # the member sees its own redemption's settlement
    assert d.cash.functions.balanceOf(b_wallet["address"]).call() == b_before - 1 * C
    assert not [a for _, body in receiver.received for a in unchecksummed(json.loads(body))]
    assert not lower_case, lower_case[:10]
    tampered = dict(receiver.received[-1][0])
    assert not webhooks.verify(secrets[1], tampered, receiver.received[-1][1] + b" ")
    stack.close()
