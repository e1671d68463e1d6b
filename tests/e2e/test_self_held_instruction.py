"""A self-held seller's early repurchase, on our node (and Anvil) through the gateway's API: once the holder has
consented, ``/submit`` hands the seller the transaction its own wallet sends. The gateway cannot know whether the
wallet sent it, so the instruction stays ``handed_out`` (asking again hands the same step out again) until the
indexer sees the engine spend its nonce, and only then is it ``submitted``; after that there is nothing left to send.
Another early repurchase handed out on the same repo stays handed out, and is not handed out again once the repo
is closed. The holder's list of the repo's instructions finds the one
it signed however many others it need not sign came later."""

from __future__ import annotations

import uuid

import pytest
from eth_account import Account

from contracts.deploy import _send
from gateway.settlement_records.models import Instruction
from tests.e2e.test_lifecycle_paths import REPURCHASED, STATUS, Env, env, sign_instruction
from tests.e2e.test_trading_chain import repo_state, wait_for
from tests.gateway.market import call, register_self_held, step_up

pytestmark = pytest.mark.slow
__all__ = ["env"]  # the lifecycle module's chain, deployment and gateway, shared


def test_a_self_held_sellers_step_stays_handed_out_until_the_chain_shows_it(env: Env) -> None:
    d = env.d
    env.price("98")
    key = Account.create()
    wallet = register_self_held(env.a_trader, key.address, key, "a-cold")
    assert d.registry.functions.isVerified(key.address).call()
    d.send(d.deployer, d.bond.functions.mint(key.address, 200_000 * 10 ** d.bond.functions.decimals().call()))
    env.issue_cash(key.address, "5000")  # the interest it pays on top of the cash it borrowed
    for token in (d.bond, d.cash):
        d.send(key, token.functions.approve(env.engine, 2**256 - 1))  # the self-held wallet's own transactions
    trade = env.direct_trade(seller_wallet_id=wallet["id"], buyer=env.b_wallet["address"], tenor_seconds=3600)
    doc = env.a_trader.get(f"/v1/trades/{trade}/typed-data").json()
    signature = "0x" + bytes(key.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    assert call(env.a_trader, f"/v1/trades/{trade}/signature", json={"signature": signature}).status_code == 200
    step_up(env.b_trader)
    assert call(env.b_trader, f"/v1/trades/{trade}/sign").status_code == 200
    repo_id = env.wait_open(trade)

    asked = []  # two early repurchases, both consented by the holder: only the one the wallet sends is carried out
    for _ in range(2):
        proposal = call(env.a_trader, f"/v1/repos/{repo_id}/early-repurchase")
        assert proposal.status_code == 201, proposal.text
        asked.append(proposal.json()["id"])
        assert sign_instruction(env, asked[-1], env.b_trader)["status"] == "pending"  # the holder consents
    other, instruction = asked

    handed = []
    for each in (instruction, instruction, other):  # the first never left the wallet (declined): asked again
        step_up(env.a_trader)
        answer = call(env.a_trader, f"/v1/instructions/{each}/submit")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "handed_out", answer.json()
        handed.append(answer.json()["transaction"])
    first, again, _ = handed
    assert first["from"] == key.address and first["to"].lower() == env.engine.lower()
    assert (again["to"], again["data"]) == (first["to"], first["data"])
    assert env.a_trader.get(f"/v1/instructions/{instruction}").json()["status"] == "handed_out"
    assert repo_state(d, repo_id)[STATUS] != REPURCHASED  # nothing was sent by the gateway

    with env.world.ctx.sessions.begin() as session:  # a row the indexer cannot read must not stop it for everyone
        session.add(
            Instruction(
                id=uuid.uuid4(), repo_id=repo_id, kind="EarlyRepurchase", message={"repoId": str(repo_id)},
                required=["not an address"], status="handed_out", created_by="test",
            )
        )  # fmt: skip
    _send(d.w3, key, {"to": first["to"], "data": first["data"]}, "repurchaseEarly")
    wait_for(lambda: repo_state(d, repo_id), lambda s: s[STATUS] == REPURCHASED)
    done = wait_for(  # the indexer saw its nonce spent by the engine
        lambda: env.a_trader.get(f"/v1/instructions/{instruction}").json(), lambda i: i["status"] == "submitted"
    )
    assert done["status"] == "submitted"
    assert env.a_trader.get(f"/v1/instructions/{other}").json()["status"] == "handed_out"  # never carried out
    step_up(env.a_trader)
    late = call(env.a_trader, f"/v1/instructions/{instruction}/submit")
    assert late.status_code == 409 and "nothing to send" in late.json()["detail"], late.text
    step_up(env.a_trader)
    dead = call(env.a_trader, f"/v1/instructions/{other}/submit")  # not handed out again: the engine would refuse
    assert dead.status_code == 409 and "the repo is repurchased" in dead.json()["detail"], dead.text

    # a hundred and more later instructions none of B's wallets must sign (a holder before it, say) do not hide
    # from B the one it signed
    with env.world.ctx.sessions.begin() as session:
        for _ in range(101):
            session.add(
                Instruction(
                    id=uuid.uuid4(), repo_id=repo_id, kind="EarlyRepurchase", message=done["message"],
                    required=[Account.create().address.lower()], created_by="test",
                )
            )  # fmt: skip
    listed = env.b_trader.get(f"/v1/repos/{repo_id}/instructions")
    assert listed.status_code == 200 and [i["id"] for i in listed.json()["data"]] == [instruction, other], listed.text
    assert len(env.a_trader.get(f"/v1/repos/{repo_id}/instructions").json()["data"]) == 100  # the seller: all, paged
