"""End to end on our node, through the gateway's API with its relayer settling on chain: the lifecycle paths the
main trading test does not walk. A smart-contract (ERC-1271) wallet signs its own terms; a term repo is rolled
(both sign); excess collateral is withdrawn after a price rise, and withdrawing more is refused; an open repo is
terminated by notice and repurchased at exactly the repurchase price of its notice maturity.

On Anvil and on our node (any standard EVM node must do): one chain, one deployment and one gateway serve the module
per chain (our node's clock is the wall clock: its waits are a few seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from contracts.deploy import _send
from gateway.db.models import Role
from gateway.positions import accrual
from tests.contracts.smart_wallet import smart_wallet_artifact
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, Deployment, deploy, start_chain
from tests.e2e.test_trading_chain import post_price, repo_state, settled, wait_for
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import Member, World
from tests.gateway.market import approve_member, call, custodial_wallet, register_self_held, step_up

pytestmark = pytest.mark.slow
C = 10**CASH_DECIMALS
B = 10**BOND_DECIMALS
# indices into the engine's Repo struct (IRepoEngine.Repo)
STATUS, OPENED_AT, MATURITY, NOTICE, PERIOD_START, CRYSTALLIZED, COLLATERAL = 8, 9, 10, 11, 14, 16, 17
OPEN, REPURCHASED = 1, 4


@dataclass
class Env:
    d: Deployment
    world: World
    admin: Member
    admin2: Member
    a_trader: Member
    b_trader: Member
    a_wallet: dict[str, Any]
    b_wallet: dict[str, Any]

    @classmethod
    def desk(cls, d: Deployment, world: World) -> Env:
        """The two-member desk most end-to-end tests start from: operator admins, a trader with a custodial wallet
        at each of members A and B (both approved), the cash token and the bond listed; funding is each test's."""
        admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
        admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
        a_trader = world.user("a", Role.TRADER, "atrader")
        b_trader = world.user("b", Role.TRADER, "btrader")
        a_wallet, b_wallet = custodial_wallet(a_trader), custodial_wallet(b_trader)
        approve_member(world, "a")
        approve_member(world, "b")
        for address, kind in ((d.addresses["cash"], "cash"), (d.addresses["bond"], "bond")):
            r = call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind})
            assert r.status_code == 201, r.text
        return cls(d, world, admin, admin2, a_trader, b_trader, a_wallet, b_wallet)

    @property
    def cash(self) -> str:
        return self.d.addresses["cash"]

    @property
    def bond(self) -> str:
        return self.d.addresses["bond"]

    @property
    def engine(self) -> str:
        return self.d.addresses["repo_engine"]

    def price(self, percent_of_par: str) -> None:
        post_price(self.admin, self.admin2, self.bond, self.cash, percent_of_par)

    def issue_cash(self, wallet: str, amount: str) -> None:
        """The issuer's cash to ``wallet``, settled (a fresh step-up first: a long-lived world outlives the
        sign-in's)."""
        step_up(self.admin)
        issue = {"token": self.cash, "wallet": wallet, "amount": amount}
        settled(self.admin, call(self.admin, "/v1/operator/cash/issue", json=issue))

    def cash_of(self, address: str) -> int:
        return int(self.d.cash.functions.balanceOf(address).call())

    def bond_of(self, address: str) -> int:
        return int(self.d.bond.functions.balanceOf(address).call())

    def holder(self, repo_id: int) -> str:
        from contracts.deploy import contract

        position = contract(self.d.w3, "RepoPosition", self.d.engine.functions.position().call())
        return str(position.functions.ownerOf(repo_id).call())

    def direct_trade(self, *, seller_wallet_id: str, buyer: str, **terms: Any) -> str:
        """A's trader proposes terms to B's wallet ``buyer``; returns the trade id (nobody signed yet)."""
        body = {
            "role": "seller",
            "wallet_id": seller_wallet_id,
            "counterparty_wallet": buyer,
            "cash_token": self.cash,
            "collateral_token": self.bond,
            "purchase_price": "100000",
            "collateral_amount": "120000",
            "rate": "0.05",
            "haircut_bps": 200,
            "min_transfer_amount": "1000",
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
            **terms,
        }
        r = call(self.a_trader, "/v1/trades", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def open_custodial(self, **terms: Any) -> int:
        """A repo between the two custodial wallets (A sells collateral, B lends cash), open on chain."""
        trade = self.direct_trade(seller_wallet_id=self.a_wallet["id"], buyer=self.b_wallet["address"], **terms)
        for member in (self.a_trader, self.b_trader):
            step_up(member)
            r = call(member, f"/v1/trades/{trade}/sign")
            assert r.status_code == 200, r.text
        return self.wait_open(trade)

    def wait_open(self, trade: str) -> int:
        body = wait_for(lambda: self.a_trader.get(f"/v1/trades/{trade}").json(), lambda t: t["status"] != "settling")
        assert body["status"] == "open", body
        return int(body["repo_id"])


@pytest.fixture(scope="module", params=["anvil", "reponet-node"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp_path: Path = tmp_path_factory.mktemp(f"lifecycle-{request.param}")
    for chain in start_chain(request.param, tmp_path):
        d = deploy(chain)
        for world in chain_world(d, tmp_path):
            env = Env.desk(d, world)
            admin, a_wallet, b_wallet = env.admin, env.a_wallet, env.b_wallet
            issue = {"token": d.addresses["cash"], "wallet": b_wallet["address"], "amount": "2000000"}
            settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            issue = {"token": d.addresses["cash"], "wallet": a_wallet["address"], "amount": "100000"}
            settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 2_000_000 * B))
            yield env


def expected_rp(state: Any, at: int) -> int:
    """RP(at) from the repo's on-chain terms, by the reference formula (DESIGN.md, GMRA 2011)."""
    return accrual.repurchase_price(
        purchase_price=state[4],
        rate=state[5],
        basis=state[6],
        period_start=state[PERIOD_START],
        maturity=state[MATURITY],
        crystallized_pd=state[CRYSTALLIZED],
        at=at,
    )


def test_erc1271_smart_wallet_signs_its_own_terms(env: Env) -> None:
    d = env.d
    env.price("98")
    owner = Account.create()
    # A's multisig stand-in: a contract wallet whose owner key speaks for it under ERC-1271
    art = smart_wallet_artifact()
    factory = d.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    created = _send(d.w3, d.deployer, {"data": factory.constructor(owner.address).data_in_transaction}, "deploy")
    smart = d.w3.eth.contract(address=created["contractAddress"], abi=art["abi"])
    # a SIWE challenge a stranger signs does not register the contract wallet
    challenge = call(env.a_trader, "/v1/wallets/siwe/challenge", json={"address": smart.address, "label": "x"})
    assert challenge.status_code == 201, challenge.text
    forged = Account.create().sign_message(encode_defunct(text=challenge.json()["message"]))
    step_up(env.a_trader)
    refused = call(
        env.a_trader,
        "/v1/wallets/siwe/verify",
        json={"message": challenge.json()["message"], "signature": "0x" + bytes(forged.signature).hex()},
    )
    assert refused.status_code == 400 and "not by the challenged address" in refused.json()["detail"], refused.text
    # the owner's key registers it (ERC-1271 over the EIP-191 hash) and its owner as the wallet's operating key
    wallet = register_self_held(env.a_trader, smart.address, owner, "multisig")
    assert wallet["kind"] == "self_held" and wallet["address"] == smart.address
    assert d.registry.functions.isVerified(smart.address).call()
    register_self_held(env.a_trader, owner.address, owner, "multisig owner")
    d.send(d.deployer, d.bond.functions.mint(smart.address, 150_000 * B))
    approve = d.bond.functions.approve(env.engine, 2**256 - 1)._encode_transaction_data()
    d.send(owner, smart.functions.execute(env.bond, approve))

    trade = env.direct_trade(seller_wallet_id=wallet["id"], buyer=env.b_wallet["address"], tenor_seconds=3600)
    doc = env.a_trader.get(f"/v1/trades/{trade}/typed-data").json()
    # not the wallet's: a stranger's key, and the owner's key over other terms (isValidSignature says no)
    stranger = Account.create().sign_typed_data(full_message=doc["typed_data"])
    other = dict(doc["typed_data"], message={**doc["typed_data"]["message"], "purchasePrice": 1})
    wrong_terms = owner.sign_typed_data(full_message=other)
    for bad in (stranger, wrong_terms):
        r = call(env.a_trader, f"/v1/trades/{trade}/signature", json={"signature": "0x" + bytes(bad.signature).hex()})
        assert r.status_code == 400 and r.json()["type"].endswith("/invalid-signature"), r.text
    assert env.a_trader.get(f"/v1/trades/{trade}").json()["seller"]["signed"] is False
    # the owner's key over these very terms: recovers to the owner, not the wallet; the wallet's contract accepts it
    good = owner.sign_typed_data(full_message=doc["typed_data"])
    assert Account.recover_message(encode_typed_data(full_message=doc["typed_data"]), signature=good.signature) == (
        owner.address
    )
    r = call(env.a_trader, f"/v1/trades/{trade}/signature", json={"signature": "0x" + bytes(good.signature).hex()})
    assert r.status_code == 200, r.text
    assert r.json()["trade"]["seller"]["signed"] is True and r.json()["trade"]["status"] == "pending_signatures"

    b_cash, smart_cash = env.cash_of(env.b_wallet["address"]), env.cash_of(smart.address)
    step_up(env.b_trader)
    r = call(env.b_trader, f"/v1/trades/{trade}/sign")
    assert r.status_code == 200, r.text
    repo_id = env.wait_open(trade)
    # on chain: the contract wallet is the seller; its collateral is in escrow and it received the cash
    state = repo_state(d, repo_id)
    assert state[0] == smart.address and state[STATUS] == OPEN
    assert env.bond_of(smart.address) == 30_000 * B
    assert state[COLLATERAL] == 120_000 * B
    assert env.cash_of(smart.address) == smart_cash + 100_000 * C
    assert env.cash_of(env.b_wallet["address"]) == b_cash - 100_000 * C
    assert env.holder(repo_id) == env.b_wallet["address"]  # the position NFT went to B's custodial wallet


def sign_instruction(env: Env, instruction_id: str, *members: Member) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for member in members:
        step_up(member)
        r = call(member, f"/v1/instructions/{instruction_id}/sign")
        assert r.status_code == 200, r.text
        body = r.json()
    return body


def _next_instruction_event(ws: Any) -> dict[str, Any]:
    """The next instruction.* message on a stream (repo events of the open may come first)."""
    for _ in range(50):
        event: dict[str, Any] = ws.receive_json()
        if event["type"].startswith("instruction."):
            return event
    raise AssertionError("no instruction event among 50 messages")


def test_roll_both_sign_then_repurchase_at_the_new_maturity(env: Env) -> None:
    d = env.d
    env.price("98")
    repo_id = env.open_custodial(tenor_seconds=3600)
    before = repo_state(d, repo_id)
    assert before[MATURITY] > d.now() + 3000

    # roll to a maturity a few seconds away (a roll may move it either way; here it must come early to be seen);
    # the holder learns of the proposal and of each signature on its stream, and finds it on the repo
    with env.world.client.websocket_connect("/v1/stream", headers=env.b_trader.headers) as ws_b:
        assert ws_b.receive_json()["type"] == "subscribed"
        amend = call(env.a_trader, f"/v1/repos/{repo_id}/amendments", json={"kind": "roll", "new_tenor_seconds": 8})
        assert amend.status_code == 201, amend.text
        instruction = amend.json()["id"]
        told = _next_instruction_event(ws_b)
        assert told["type"] == "instruction.created" and told["data"]["instruction_id"] == instruction
        assert told["data"]["repo_id"] == str(repo_id) and told["data"]["kind"] == "Amendment"
        listed = env.b_trader.get(f"/v1/repos/{repo_id}/instructions").json()["data"]
        assert [(i["id"], i["status"], i["signed_by"]) for i in listed] == [(instruction, "pending", [])]
        env.world.org("c", name="Fund C")
        stranger = env.world.user("c", Role.TRADER, "c-roll")
        assert stranger.get(f"/v1/repos/{repo_id}/instructions").status_code == 404
        one = sign_instruction(env, instruction, env.a_trader)
        assert one["status"] == "pending", one  # the seller alone cannot roll
        signed = _next_instruction_event(ws_b)
        assert signed["type"] == "instruction.signed" and signed["data"]["status"] == "pending"
    assert repo_state(d, repo_id)[MATURITY] == before[MATURITY]
    sign_instruction(env, instruction, env.b_trader)
    state = wait_for(lambda: repo_state(d, repo_id), lambda s: s[MATURITY] != before[MATURITY])
    new_maturity = int(env.b_trader.get(f"/v1/instructions/{instruction}").json()["message"]["newMaturity"])
    assert state[MATURITY] == new_maturity < before[MATURITY]
    # the same repo, still open, with the same collateral, cash and rate period
    assert state[STATUS] == OPEN and state[COLLATERAL] == before[COLLATERAL]
    assert state[PERIOD_START] == before[PERIOD_START] and state[4] == before[4] and state[5] == before[5]
    assert env.holder(repo_id) == env.b_wallet["address"]

    # repurchase at the new maturity: exactly PP + PD from the start to the new maturity
    d.advance(max(0, new_maturity - d.now()) + 1)
    a_bond, b_cash = env.bond_of(env.a_wallet["address"]), env.cash_of(env.b_wallet["address"])
    step_up(env.a_trader)
    settled(env.a_trader, call(env.a_trader, f"/v1/repos/{repo_id}/repurchase"))
    final = repo_state(d, repo_id)
    assert final[STATUS] == REPURCHASED
    rp = expected_rp(state, at=d.now())
    assert rp == expected_rp(state, at=new_maturity) > state[4]  # PD stops at the new maturity
    assert env.cash_of(env.b_wallet["address"]) == b_cash + rp
    assert env.bond_of(env.a_wallet["address"]) == a_bond + before[COLLATERAL]


def test_withdraw_excess_after_a_price_rise(env: Env) -> None:
    d = env.d
    env.price("98")
    # 104,000 nominal at 0.98 less 2 %: 99,881.60 against 100,000 owed (no excess; below the margin threshold)
    repo_id = env.open_custodial(tenor_seconds=3600, collateral_amount="104000")
    assert 0 < d.engine.functions.exposure(repo_id).call() < 1000 * C
    step_up(env.a_trader)
    early = call(env.a_trader, f"/v1/repos/{repo_id}/withdraw-excess", json={"collateral_amount": "1"})
    assert_refused(env, early, "RepoExcessBelowThreshold")

    env.price("110")  # 104,000 x 1.10 x 0.98 = 112,112: about 12,112 of excess
    exposure = d.engine.functions.exposure(repo_id).call()
    assert exposure < -12_000 * C
    a_bond, escrow = env.bond_of(env.a_wallet["address"]), env.bond_of(env.engine)
    step_up(env.a_trader)
    done = settled(
        env.a_trader,
        call(env.a_trader, f"/v1/repos/{repo_id}/withdraw-excess", json={"collateral_amount": "10000"}),
    )
    assert done["kind"] == "withdraw_excess"
    assert env.bond_of(env.a_wallet["address"]) == a_bond + 10_000 * B
    assert env.bond_of(env.engine) == escrow - 10_000 * B
    state = repo_state(d, repo_id)
    assert state[COLLATERAL] == 94_000 * B and state[STATUS] == OPEN
    # 94,000 x 1.078 = 101,332 left against ~100,000 owed: 5,000 more nominal would undercollateralize
    assert d.engine.functions.exposure(repo_id).call() < -1_000 * C
    step_up(env.a_trader)
    too_much = call(env.a_trader, f"/v1/repos/{repo_id}/withdraw-excess", json={"collateral_amount": "5000"})
    assert_refused(env, too_much, "RepoWithdrawalUndercollateralizes")
    assert repo_state(d, repo_id)[COLLATERAL] == 94_000 * B
    assert env.bond_of(env.a_wallet["address"]) == a_bond + 10_000 * B
    assert env.bond_of(env.engine) == escrow - 10_000 * B


def assert_refused(env: Env, response: Any, reason: str) -> None:
    """The gateway refuses the step with a stable error code and the engine's reason, and queues nothing."""
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["type"].endswith("/step-would-revert") and reason in body["detail"], body


def test_open_repo_terminated_by_notice_then_repurchased(env: Env) -> None:
    d = env.d
    env.price("98")
    repo_id = env.open_custodial(notice_period_seconds=4)  # neither tenor nor maturity: an open repo
    opened = repo_state(d, repo_id)
    assert opened[MATURITY] == 0 and opened[NOTICE] == 4 and opened[STATUS] == OPEN

    # the lender gives notice: maturity = the notice's block time + the notice period
    step_up(env.b_trader)
    done = settled(env.b_trader, call(env.b_trader, f"/v1/repos/{repo_id}/terminate"))
    receipt = d.w3.eth.get_transaction_receipt(done["steps"][-1]["tx_hash"])
    noticed = d.engine.events.RepoTerminationNoticed().process_receipt(receipt)
    assert len(noticed) == 1 and noticed[0]["args"]["by"] == env.b_wallet["address"]
    state = repo_state(d, repo_id)
    noticed_at = int(d.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    assert state[MATURITY] == noticed_at + 4 == noticed[0]["args"]["maturity"] and state[STATUS] == OPEN
    # notice is given once
    step_up(env.a_trader)
    assert_refused(env, call(env.a_trader, f"/v1/repos/{repo_id}/terminate"), "RepoIsTermRepo")

    # after the notice period the seller repurchases: PD accrued from the open to the notice maturity, exactly
    d.advance(max(0, state[MATURITY] - d.now()) + 1)
    a_bond, b_cash = env.bond_of(env.a_wallet["address"]), env.cash_of(env.b_wallet["address"])
    step_up(env.a_trader)
    settled(env.a_trader, call(env.a_trader, f"/v1/repos/{repo_id}/repurchase"))
    final = repo_state(d, repo_id)
    assert final[STATUS] == REPURCHASED
    rp = expected_rp(state, at=state[MATURITY])
    pd = -(-(100_000 * C * 5 * 10**16 * (state[MATURITY] - state[OPENED_AT])) // (360 * 86_400 * 10**18))
    assert rp == 100_000 * C + pd and pd > 0
    assert env.cash_of(env.b_wallet["address"]) == b_cash + rp
    assert env.bond_of(env.a_wallet["address"]) == a_bond + opened[COLLATERAL]
    detail = wait_for(
        lambda: env.a_trader.get(f"/v1/repos/{repo_id}").json(),
        lambda body: "position" in body and body["position"]["status"] == "repurchased",
    )
    assert [e["type"] for e in detail["timeline"]] == [
        "repo.RepoOpened",
        "repo.RepoTerminationNoticed",
        "repo.RepoRepurchased",
    ]
