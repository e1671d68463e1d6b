"""A self-held seller's early repurchase, on our node (and Anvil) through the gateway's API: once the holder has
consented, ``/submit`` hands the seller the transaction its own wallet sends. The gateway cannot know whether the
wallet sent it, so the instruction stays ``handed_out`` (asking again hands the same step out again) until the
indexer sees the engine spend its nonce, and only then is it ``submitted``; after that there is nothing left to send.
Another early repurchase handed out on the same repo stays handed out, and is not handed out again once the repo
is closed. The holder's list of the repo's instructions finds the one it signed however many others it need not sign
came later. A step the engine would refuse (its nonce spent, its holder changed, its deadline passed) is not handed
out or queued; past its deadline an instruction is expired, unless a signer's nonce shows it carried out."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from contracts.deploy import _send
from gateway.db.models import AuditEntry
from gateway.settlement_records.models import SENDABLE, Instruction
from tests.e2e.test_lifecycle_paths import (
    OPEN,
    REPURCHASED,
    STATUS,
    Env,
    _next_instruction_event,
    env,
    sign_instruction,
)
from tests.e2e.test_trading_chain import post_price, repo_state, settled, wait_for
from tests.gateway.market import approve_member, call, custodial_wallet, register_self_held, step_up

pytestmark = pytest.mark.slow
COLLATERAL_TOKEN = 3  # index into the engine's Repo struct
__all__ = ["env"]  # the lifecycle module's chain, deployment and gateway, shared


def self_held_repo(env: Env, key: LocalAccount, wallet: dict[str, Any], **terms: Any) -> int:
    """A repo open on chain in which the self-held ``wallet`` (``key``'s) sells collateral to B's custodial wallet."""
    trade = env.direct_trade(seller_wallet_id=wallet["id"], buyer=env.b_wallet["address"], **terms)
    doc = env.a_trader.get(f"/v1/trades/{trade}/typed-data").json()
    signature = "0x" + bytes(key.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    assert call(env.a_trader, f"/v1/trades/{trade}/signature", json={"signature": signature}).status_code == 200
    step_up(env.b_trader)
    assert call(env.b_trader, f"/v1/trades/{trade}/sign").status_code == 200
    return env.wait_open(trade)


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
    repo_id = self_held_repo(env, key, wallet, tenor_seconds=3600)

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
                    required=[Account.create().address.lower()], created_by="test", status="rejected",
                )
            )  # fmt: skip
    listed = env.b_trader.get(f"/v1/repos/{repo_id}/instructions")
    assert listed.status_code == 200 and [i["id"] for i in listed.json()["data"]] == [instruction, other], listed.text
    assert len(env.a_trader.get(f"/v1/repos/{repo_id}/instructions").json()["data"]) == 100  # the seller: all, paged


def consented_substitution(env: Env, repo_id: int, token: str, amount: str) -> str:
    """A's proposal to substitute ``amount`` of ``token`` for the repo's collateral, consented by B (the holder)."""
    proposal = call(
        env.a_trader, f"/v1/repos/{repo_id}/substitutions",
        json={"new_collateral_token": token, "new_collateral_amount": amount},
    )  # fmt: skip
    assert proposal.status_code == 201, proposal.text
    assert sign_instruction(env, proposal.json()["id"], env.b_trader)["status"] == "pending"
    return str(proposal.json()["id"])


def submit(env: Env, instruction: str) -> Any:
    step_up(env.a_trader)
    return call(env.a_trader, f"/v1/instructions/{instruction}/submit")


def test_a_step_the_engine_would_refuse_is_not_handed_out_again(env: Env) -> None:
    """A self-held seller's step is not simulated (its wallet approves the engine itself first), so ``/submit``
    checks what the engine would: a nonce it has spent already (the indexer not yet past the block that spent it),
    and a holder who is no longer the one who consented. Each is refused with its reason, and nothing is handed out."""
    d, bond2 = env.d, env.d.addresses["bond2"]
    env.price("98")
    listed = call(env.admin, "/v1/operator/instruments", json={"address": bond2, "kind": "bond"})
    assert listed.status_code == 201, listed.text
    post_price(env.admin, env.admin2, bond2, env.cash, "98")
    key = Account.create()
    wallet = register_self_held(env.a_trader, key.address, key, "a-cold-substitutes")
    for token in (d.bond, d.bond2):
        d.send(d.deployer, token.functions.mint(key.address, 200_000 * 10 ** token.functions.decimals().call()))
        d.send(key, token.functions.approve(env.engine, 2**256 - 1))
    repo_id = self_held_repo(env, key, wallet, tenor_seconds=7 * 86_400)

    # the nonce: carried out by the wallet, and seen by the indexer
    substitution = consented_substitution(env, repo_id, bond2, "150000")
    handed = submit(env, substitution)
    assert handed.status_code == 200 and handed.json()["status"] == "handed_out", handed.text
    step = handed.json()["transaction"]
    _send(d.w3, key, {"to": step["to"], "data": step["data"]}, "substitute")
    wait_for(lambda: env.a_trader.get(f"/v1/instructions/{substitution}").json(), lambda i: i["status"] == "submitted")
    assert str(repo_state(d, repo_id)[COLLATERAL_TOKEN]).lower() == bond2.lower()
    with env.world.ctx.sessions.begin() as session:  # as the row stands before the indexer has seen the block
        row = session.get(Instruction, uuid.UUID(substitution))
        assert row is not None
        row.status = "handed_out"
    again = submit(env, substitution)
    assert again.status_code == 409 and "carried this instruction out already" in again.json()["detail"], again.text
    assert env.a_trader.get(f"/v1/instructions/{substitution}").json()["status"] == "handed_out"  # nothing queued

    # the holder: B consents, then moves the position to another of its wallets before A's wallet sends the step
    back = consented_substitution(env, repo_id, env.bond, "120000")
    moved_to = custodial_wallet(env.b_trader, "b-second-desk")
    approve_member(env.world, "b")
    step_up(env.b_trader)
    settled(
        env.b_trader,
        call(env.b_trader, f"/v1/repos/{repo_id}/position-transfer", json={"to_wallet": moved_to["address"]}),
    )
    assert env.holder(repo_id) == moved_to["address"]
    stale = submit(env, back)
    assert stale.status_code == 409 and "changed hands" in stale.json()["detail"], stale.text
    assert env.a_trader.get(f"/v1/instructions/{back}").json()["status"] == "pending"

    if d.chain.kind != "anvil":
        return  # our node's clock is the wall clock: the hour to the deadlines cannot pass in a test
    # past both deadlines: the step whose nonce is spent was carried out (submitted); the other can never be (expired)
    d.advance(3_600 + 61)
    status = {}
    for each in (substitution, back):
        status[each] = wait_for(
            lambda each=each: env.a_trader.get(f"/v1/instructions/{each}").json()["status"],
            lambda s: s not in ("pending", "handed_out"),
        )
    assert status == {substitution: "submitted", back: "expired"}, status


def test_a_step_past_its_deadline_is_refused_then_expired(env: Env) -> None:
    """An early repurchase the holder consented to an hour and more ago: its deadline has passed, so the engine
    would refuse it. ``/submit`` says so rather than queueing it, even before the indexer has seen a block past the
    deadline; once it has, the instruction is ``expired`` (audited, told to both parties) and can no longer be
    signed or sent."""
    if env.d.chain.kind != "anvil":
        pytest.skip("our node's clock is the wall clock: the hour to an instruction's deadline cannot pass in a test")
    env.price("98")
    repo_id = env.open_custodial(tenor_seconds=7 * 86_400)
    proposal = call(env.a_trader, f"/v1/repos/{repo_id}/early-repurchase")
    assert proposal.status_code == 201, proposal.text
    instruction = proposal.json()["id"]
    assert sign_instruction(env, instruction, env.b_trader)["status"] == "pending"
    indexer = env.world.client.app.state.hub.extra["indexer"]  # type: ignore[attr-defined]
    with env.world.ctx.read_sessions() as session:  # B is party to each: told of every one that ends
        live = session.scalars(select(Instruction.message).where(Instruction.status.in_(SENDABLE))).all()
    expected_events = sum(1 for message in live if "deadline" in message)  # each ends (one without: not the sweep's)
    with env.world.client.websocket_connect("/v1/stream", headers=env.b_trader.headers) as ws:
        assert ws.receive_json()["type"] == "subscribed"
        with indexer._lock:  # held: its sweep cannot end the instruction first, so /submit's own check answers
            env.d.advance(3_600 + 61)
            late = submit(env, instruction)
        assert late.status_code == 409 and "deadline has passed" in late.json()["detail"], late.text
        assert repo_state(env.d, repo_id)[STATUS] == OPEN
        ended = wait_for(
            lambda: env.a_trader.get(f"/v1/instructions/{instruction}").json(), lambda i: i["status"] == "expired"
        )
        assert ended["status"] == "expired", ended
        told = [_next_instruction_event(ws) for _ in range(expected_events)]  # earlier tests' left-overs end too
    ours = [e for e in told if e["data"]["instruction_id"] == instruction]
    assert [(e["type"], e["data"]["status"]) for e in ours] == [("instruction.expired", "expired")], told
    step_up(env.b_trader)
    again = call(env.b_trader, f"/v1/instructions/{instruction}/sign")
    assert again.status_code == 409 and "expired" in again.json()["detail"], again.text
    sent = submit(env, instruction)
    assert sent.status_code == 409, sent.text
    with env.world.ctx.read_sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == instruction)).all()
    assert "instruction.expired" in actions, actions
