"""End to end on a chain, through the gateway's API: consent on every path to a member's money.

- A re-rate of a live repo under "one approval for every trade" needs an approver other than the signer.
- The operator cannot redeem a member's cash: the member asks (its consent), the issuer executes by id, and the
  member sees the settlement; a step from a member's wallet queued without its consent is never signed.
- A failed open cancels its nonces on chain before the trade is marked failed: a third wallet's replay of the
  failed open's signatures no longer opens a repo.
- Prices are in percent of par; a move beyond the instrument's bound waits for a second operator person.
- A custodial side signing last is preflighted without its signature: a refusal (balance, the engine's decoded
  error) comes before the custody door, and no custodial signature reaches the node before the policy allows it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.custody.models import Consent
from gateway.db.models import Role
from gateway.settlement_records.models import Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading.models import Trade
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, Deployment, deploy, start_chain
from tests.e2e.test_trading_chain import post_price, repo_state, settled, wait_for
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import Member, World
from tests.gateway.market import approve_member, call, custodial_wallet, hub_of, step_up

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS
B = 10**BOND_DECIMALS
RATE = 5


@dataclass
class Env:
    d: Deployment
    world: World
    admin: Member
    admin2: Member
    a_trader: Member
    a_ap1: Member
    a_ap2: Member
    b_trader: Member
    a_wallet: dict[str, Any]
    b_wallet: dict[str, Any]

    @property
    def cash(self) -> str:
        return self.d.addresses["cash"]

    @property
    def bond(self) -> str:
        return self.d.addresses["bond"]

    def cash_of(self, address: str) -> int:
        return int(self.d.cash.functions.balanceOf(address).call())

    def direct_trade(self, buyer: str, purchase_price: str = "100000") -> str:
        body = {
            "role": "seller",
            "wallet_id": self.a_wallet["id"],
            "counterparty_wallet": buyer,
            "cash_token": self.cash,
            "collateral_token": self.bond,
            "purchase_price": purchase_price,
            "collateral_amount": "120000",
            "rate": "0.05",
            "haircut_bps": 200,
            "tenor_seconds": 3600,
            "min_transfer_amount": "1000",
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
        }
        r = call(self.a_trader, "/v1/trades", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def sign_both(self, trade: str) -> None:
        for member in (self.a_trader, self.b_trader):
            step_up(member)
            r = call(member, f"/v1/trades/{trade}/sign")
            assert r.status_code == 200, r.text


@pytest.fixture(scope="module", params=["anvil", "reponet-node"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp_path: Path = tmp_path_factory.mktemp(f"custody-{request.param}")
    for chain in start_chain(request.param, tmp_path):
        d = deploy(chain)
        for world in chain_world(d, tmp_path):
            admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
            admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
            a_trader = world.user("a", Role.TRADER, "atrader")
            a_ap1, a_ap2 = world.user("a", Role.APPROVER, "aap1"), world.user("a", Role.APPROVER, "aap2")
            b_trader = world.user("b", Role.TRADER, "btrader")
            a_wallet, b_wallet = custodial_wallet(a_trader), custodial_wallet(b_trader)
            approve_member(world, "a")
            approve_member(world, "b")
            for address, kind in ((d.addresses["cash"], "cash"), (d.addresses["bond"], "bond")):
                r = call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind})
                assert r.status_code == 201, r.text
            for wallet, amount in ((b_wallet, "2000000"), (a_wallet, "100000")):
                issue = {"token": d.addresses["cash"], "wallet": wallet["address"], "amount": amount}
                settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 2_000_000 * B))
            e = Env(d, world, admin, admin2, a_trader, a_ap1, a_ap2, b_trader, a_wallet, b_wallet)
            post_price(admin, admin2, e.bond, e.cash, "98")
            yield e


def test_prices_are_percent_of_par_and_a_large_move_needs_a_second_person(env: Env) -> None:
    d, bond, cash = env.d, env.bond, env.cash
    old_unit = call(env.admin, "/v1/operator/prices", json={"asset": bond, "quote": cash, "price": "100"})
    assert old_unit.status_code == 422  # the unit is in the field's name; a bare "price" is refused
    post_price(env.admin, env.admin2, bond, cash, "98")
    raw_98 = 98 * 10**CASH_DECIMALS * 10**18 // (100 * 10**BOND_DECIMALS)
    assert d.oracle.functions.getPrice(bond, cash).call()[0] == raw_98
    fall = call(env.admin, "/v1/operator/prices", json={"asset": bond, "quote": cash, "price_percent_of_par": "30"})
    assert fall.status_code == 202 and fall.json()["status"] == "awaiting_confirmation", fall.text
    assert fall.json()["settlement"] is None and fall.json()["move_bps"] == 6939
    assert d.oracle.functions.getPrice(bond, cash).call()[0] == raw_98  # nothing reached the chain
    alone = call(env.admin, f"/v1/operator/prices/{fall.json()['id']}/confirm")
    assert alone.status_code == 409 and alone.json()["type"].endswith("/four-eyes")
    confirmed = call(env.admin2, f"/v1/operator/prices/{fall.json()['id']}/confirm")
    settled(env.admin2, confirmed)
    assert d.oracle.functions.getPrice(bond, cash).call()[0] == raw_98 * 30 // 98
    bounds = call(env.admin, "/v1/operator/price-bounds", json={"instrument": bond, "max_price_move_bps": 100})
    assert bounds.status_code == 200, bounds.text
    small = call(env.admin, "/v1/operator/prices", json={"asset": bond, "quote": cash, "price_percent_of_par": "30.2"})
    assert small.json()["status"] == "posted", small.text  # 67 bps: within the instrument's own bound
    settled(env.admin, small)
    large = call(env.admin, "/v1/operator/prices", json={"asset": bond, "quote": cash, "price_percent_of_par": "31"})
    assert large.json()["status"] == "awaiting_confirmation"  # 265 bps: beyond it
    call(env.admin, "/v1/operator/price-bounds", json={"instrument": bond, "max_price_move_bps": None})
    post_price(env.admin, env.admin2, bond, cash, "98")


def test_a_rerate_needs_an_approver_other_than_the_signer(env: Env) -> None:
    trade = env.direct_trade(env.b_wallet["address"])
    env.sign_both(trade)
    opened = wait_for(lambda: env.a_trader.get(f"/v1/trades/{trade}").json(), lambda t: t["status"] != "settling")
    assert opened["status"] == "open", opened
    repo_id = opened["repo_id"]
    rules = [{"name": "every trade", "when": {}, "action": "require_approvals", "approvals": 1}]
    adm1, adm2 = env.world.user("a", Role.MEMBER_ADMIN, "aadm1"), env.world.user("a", Role.MEMBER_ADMIN, "aadm2")
    draft = call(adm1, "/v1/policy/drafts", {"rules": rules})  # a member's policy is its administrators' to set
    assert call(adm2, f"/v1/policy/drafts/{draft.json()['id']}/decision", {"approve": True}).status_code == 200

    amend = call(env.a_trader, f"/v1/repos/{repo_id}/amendments", json={"kind": "rerate", "new_rate": "0.5"})
    assert amend.status_code == 201, amend.text
    instruction = amend.json()["id"]
    step_up(env.a_trader)
    alone = call(env.a_trader, f"/v1/instructions/{instruction}/sign")
    assert alone.status_code == 409 and alone.json()["type"].endswith("/approval-required"), alone.text
    assert env.a_trader.get(f"/v1/instructions/{instruction}").json()["signed_by"] == []
    own = call(env.a_trader, f"/v1/instructions/{instruction}/approvals")
    assert own.status_code == 403  # a trader is no approver
    assert call(env.a_ap1, f"/v1/instructions/{instruction}/approvals").status_code == 201
    signed = call(env.a_trader, f"/v1/instructions/{instruction}/sign")
    assert signed.status_code == 200, signed.text
    step_up(env.b_trader)
    assert call(env.b_trader, f"/v1/instructions/{instruction}/sign").status_code == 200
    wait_for(lambda: repo_state(env.d, repo_id)[RATE], lambda rate: rate == 5 * 10**17)
    # the policy stays for A: later trades need an approval; the other tests do not sign for A under it
    adm1, adm2 = env.world.user("a", Role.MEMBER_ADMIN, "aadm3"), env.world.user("a", Role.MEMBER_ADMIN, "aadm4")
    draft = call(adm1, "/v1/policy/drafts", {"rules": []})
    assert call(adm2, f"/v1/policy/drafts/{draft.json()['id']}/decision", {"approve": True}).status_code == 200


def test_redemption_is_the_members_request_and_the_issuer_executes_it(env: Env) -> None:
    a_address = env.a_wallet["address"]
    before = env.cash_of(a_address)
    refused = call(env.admin, "/v1/operator/cash/redeem", json={"token": env.cash, "wallet": a_address, "amount": "1"})
    assert refused.status_code in (404, 405)
    # what the old operator route did, queued straight into the outbox: a step from A's wallet without A's consent
    with env.world.ctx.sessions.begin() as session:
        market = env.world.client.app.state.hub.market  # type: ignore[attr-defined]
        token = market.token(env.cash)
        unconsented = enqueue(
            session,
            kind="cash_redeem",
            requested_by="user:intruder",
            steps=[
                StepSpec(
                    label="approve_issuer",
                    to=env.cash,
                    data=market.encode(token, "approve", market.relayer.address, 12_345 * C),
                    sender=a_address,
                    sender_wallet_id=uuid.UUID(env.a_wallet["id"]),
                ),
                StepSpec(
                    label="burn",
                    to=env.cash,
                    data=market.encode(token, "burnFrom", a_address, 12_345 * C),
                    sender=market.relayer.address,
                ),
            ],
        )
        unconsented_id = unconsented.id
    failed = env.admin.get(f"/v1/settlements/{unconsented_id}/wait?timeout=30").json()
    assert failed["status"] == "failed" and "consent" in failed["error"], failed
    assert env.cash_of(a_address) == before

    step_up(env.a_trader)
    asked = call(
        env.a_trader, "/v1/redemptions", json={"wallet_id": env.a_wallet["id"], "token": env.cash, "amount": "12345"}
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "requested" and env.cash_of(a_address) == before
    assert env.b_trader.get(f"/v1/redemptions/{asked.json()['id']}").status_code == 404
    assert call(env.a_trader, f"/v1/operator/redemptions/{asked.json()['id']}/execute").status_code == 403
    queue = env.admin.get("/v1/operator/redemptions").json()
    assert [r["id"] for r in queue["data"]] == [asked.json()["id"]]
    executed = call(env.admin, f"/v1/operator/redemptions/{asked.json()['id']}/execute")
    assert executed.status_code == 202, executed.text
    settlement_id = executed.json()["settlement"]["id"]
    done = env.a_trader.get(f"/v1/settlements/{settlement_id}/wait?timeout=60")
    assert done.status_code == 200 and done.json()["status"] == "final", done.text  # the member sees it
    assert env.cash_of(a_address) == before - 12_345 * C
    again = call(env.admin, f"/v1/operator/redemptions/{asked.json()['id']}/execute")
    assert again.status_code == 409  # executed once, never twice


def test_a_failed_open_cancels_its_nonces_and_its_signatures_cannot_be_replayed(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = env.d
    poor = custodial_wallet(env.b_trader, "poor")  # no cash: the open reverts
    approve_member(env.world, "b")
    trade = env.direct_trade(poor["address"], purchase_price="50000")
    step_up(env.a_trader)
    assert call(env.a_trader, f"/v1/trades/{trade}/sign").status_code == 200
    step_up(env.b_trader)
    refused = call(env.b_trader, f"/v1/trades/{trade}/sign")  # the preflight sees the empty wallet
    assert refused.status_code == 409 and refused.json()["reason"] == "balance", refused.text
    # the wallet empties between the check and the block: as if the preflight had passed
    from gateway.signing import preflight

    monkeypatch.setattr(preflight, "check_open", lambda *args, **kwargs: None)
    assert call(env.b_trader, f"/v1/trades/{trade}/sign").status_code == 200
    ended = wait_for(
        lambda: env.a_trader.get(f"/v1/trades/{trade}").json(),
        lambda t: t["status"] in ("failed", "open"),
        timeout=90,
    )
    assert ended["status"] == "failed", ended
    nonce = int(ended["terms"]["nonce"])
    assert d.engine.functions.nonceUsed(env.a_wallet["address"], nonce).call()
    assert d.engine.functions.nonceUsed(poor["address"], nonce).call()

    # the buyer is funded later; a third wallet replays the failed open's calldata from the chain
    settled(
        env.admin,
        call(
            env.admin, "/v1/operator/cash/issue", json={"token": env.cash, "wallet": poor["address"], "amount": "60000"}
        ),
    )
    with env.world.ctx.sessions() as session:
        opening = session.scalars(
            select(Settlement).where(Settlement.trade_id == uuid.UUID(trade), Settlement.kind == "open")
        ).one()
        opening_id = opening.id
    steps = env.admin.get(f"/v1/settlements/{opening_id}").json()["steps"]
    reverted = next(s for s in steps if s["label"] == "open")
    calldata = d.w3.eth.get_transaction(reverted["tx_hash"])["input"]
    third = d.deployer
    tx = {
        "to": d.addresses["repo_engine"],
        "data": calldata,
        "value": 0,
        "gas": 1_500_000,
        "gasPrice": 0,
        "nonce": d.w3.eth.get_transaction_count(third.address, "pending"),
        "chainId": d.w3.eth.chain_id,
    }
    sent = d.w3.eth.send_raw_transaction(third.sign_transaction(tx).raw_transaction)
    receipt = d.w3.eth.wait_for_transaction_receipt(sent, timeout=60)
    assert receipt["status"] == 0  # RepoNonceUsed: the replay opens nothing
    assert env.cash_of(poor["address"]) == 60_000 * C  # an open would have paid its cash to the seller

    # the reason fixed (the wallet is funded now), the failed trade is retried: fresh terms, both sign, it opens
    monkeypatch.undo()
    retried = call(env.b_trader, f"/v1/trades/{trade}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending_signatures" and retried.json()["digest"] != ended["digest"]
    env.sign_both(trade)
    opened = wait_for(
        lambda: env.a_trader.get(f"/v1/trades/{trade}").json(),
        lambda t: t["status"] in ("failed", "open"),
        timeout=90,
    )
    assert opened["status"] == "open", opened
    assert env.cash_of(poor["address"]) == 10_000 * C
    assert call(env.b_trader, f"/v1/trades/{trade}/retry").status_code == 409  # an open trade is not retried


def _recording(env: Env, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every JSON-RPC request the gateway (over its own guarded transport) and this test send to the chain, as
    (method, params as JSON)."""
    sent: list[tuple[str, str]] = []
    market = hub_of(env.world).market
    assert market is not None
    for provider in {id(p): p for p in (env.d.w3.provider, market.w3.provider)}.values():
        real = provider.make_request

        def recording(method: Any, params: Any, real: Any = real) -> Any:
            sent.append((str(method), json.dumps(params, default=str).lower()))
            return real(method, params)

        monkeypatch.setattr(provider, "make_request", recording)
    return sent


def _signatures(env: Env, trade: str) -> tuple[str | None, str | None]:
    with env.world.ctx.sessions() as session:
        row = session.get(Trade, uuid.UUID(trade))
        assert row is not None
        return row.seller_signature, row.buyer_signature


def test_a_custodial_buyer_short_of_cash_signing_last_is_refused_and_nothing_is_signed_or_sent(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    poor = custodial_wallet(env.b_trader, "short")
    approve_member(env.world, "b")
    trade = env.direct_trade(poor["address"], purchase_price="50000")
    step_up(env.a_trader)
    assert call(env.a_trader, f"/v1/trades/{trade}/sign").status_code == 200
    sent = _recording(env, monkeypatch)
    step_up(env.b_trader)
    refused = call(env.b_trader, f"/v1/trades/{trade}/sign")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/open-would-fail") and problem["reason"] == "balance", problem
    assert problem["side"] == "buyer" and problem["needed_units"] == str(50_000 * C), problem
    assert _signatures(env, trade)[1] is None
    assert not [m for m, _ in sent if m in ("eth_sendRawTransaction", "eth_sendTransaction")]
    with env.world.ctx.sessions() as session:  # no consent recorded: the custody door was never reached
        assert not session.scalars(
            select(Consent).where(Consent.subject == f"trade/{trade}", Consent.wallet_id == uuid.UUID(poor["id"]))
        ).all()


def test_a_custodial_signature_is_never_sent_to_the_chain_before_the_open_is_authorized(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open is simulated without custodial signatures (a stand-in under state overrides): the engine's refusal
    is decoded and returned before the buyer's custody door is opened, and once it signs, its signature was in no
    request to the node before the simulation that authorized it."""
    from gateway.settlement.simulate import ACCEPTS_ANY_SIGNATURE

    d = env.d
    trade = env.direct_trade(env.b_wallet["address"])
    step_up(env.a_trader)
    assert call(env.a_trader, f"/v1/trades/{trade}/sign").status_code == 200
    seller_signature, _ = _signatures(env, trade)
    assert seller_signature is not None
    sent = _recording(env, monkeypatch)
    d.send(d.deployer, d.bond.functions.freeze(env.a_wallet["address"]))  # the seller's collateral cannot move
    try:
        step_up(env.b_trader)
        refused = call(env.b_trader, f"/v1/trades/{trade}/sign")
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["reason"] == "contract" and "TokenAccountFrozen" in problem["contract_error"], problem
        assert _signatures(env, trade)[1] is None  # not signed
    finally:
        d.send(d.deployer, d.bond.functions.unfreeze(env.a_wallet["address"]))
    step_up(env.b_trader)
    start = len(sent)
    assert call(env.b_trader, f"/v1/trades/{trade}/sign").status_code == 200
    _, buyer_signature = _signatures(env, trade)
    assert buyer_signature is not None
    simulations = [
        i for i, (m, p) in enumerate(sent) if m == "eth_call" and ACCEPTS_ANY_SIGNATURE[2:] in p and i >= start
    ]
    assert simulations, "the open was not simulated before the custodial signature"
    before_authorized = sent[: simulations[0] + 1]
    assert not [p for _, p in before_authorized if buyer_signature[2:].lower() in p]
    assert not [
        p for m, p in sent if m == "eth_call" and ACCEPTS_ANY_SIGNATURE[2:] in p and seller_signature[2:].lower() in p
    ]
    opened = wait_for(
        lambda: env.a_trader.get(f"/v1/trades/{trade}").json(),
        lambda t: t["status"] in ("failed", "open"),
        timeout=90,
    )
    assert opened["status"] == "open", opened
