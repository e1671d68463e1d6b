"""End to end on our node (and Anvil), through the gateway's API: the holder of a repo's position transfers it to a
third member, the indexer follows (the new holder sees the repo and its ``PositionTransferred`` event, the old one
no longer does), and the repo is then repurchased early by agreement: the seller proposes, the new holder consents
by signing, the seller's wallet pays RP(now) to the new holder before maturity."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.db.models import Role
from tests.e2e.test_lifecycle_paths import OPEN, REPURCHASED, STATUS, Env, env, sign_instruction
from tests.e2e.test_trading_chain import repo_state, settled, wait_for
from tests.gateway.market import approve_member, call, custodial_wallet, step_up

pytestmark = pytest.mark.slow
__all__ = ["env"]  # the lifecycle module's chain, deployment and gateway, shared


def test_position_transfer_followed_then_early_repurchase_by_agreement(env: Env) -> None:
    d = env.d
    env.price("98")
    env.world.org("c", name="Fund C")
    c_trader = env.world.user("c", Role.TRADER, "ctrader")
    c_wallet = custodial_wallet(c_trader)
    approve_member(env.world, "c")
    repo_id = env.open_custodial(tenor_seconds=3600)
    assert env.holder(repo_id) == env.b_wallet["address"]

    # only the holder may transfer; a receiver the registry does not know is refused before anything is queued
    step_up(env.a_trader)
    refused = call(env.a_trader, f"/v1/repos/{repo_id}/position-transfer", json={"to_wallet": c_wallet["address"]})
    assert refused.status_code in (403, 409), refused.text
    step_up(env.b_trader)
    stranger = "0x" + "ab" * 20
    refused = call(env.b_trader, f"/v1/repos/{repo_id}/position-transfer", json={"to_wallet": stranger})
    assert refused.status_code == 409, refused.text
    assert "would revert" in refused.text

    # a re-rate B proposed while it held the position: its successor is not asked to sign it, nor shown it
    rerate = call(env.b_trader, f"/v1/repos/{repo_id}/amendments", json={"kind": "rerate", "new_rate": "0.06"})
    assert rerate.status_code == 201, rerate.text
    step_up(env.b_trader)
    done = settled(
        env.b_trader,
        call(env.b_trader, f"/v1/repos/{repo_id}/position-transfer", json={"to_wallet": c_wallet["address"]}),
    )
    assert env.holder(repo_id) == c_wallet["address"]
    block = max(s["block_number"] for s in done["steps"])
    detail = c_trader.get(f"/v1/repos/{repo_id}?min_block={block}")
    assert detail.status_code == 200, detail.text
    body: dict[str, Any] = detail.json()
    assert body["position"]["holder"] == c_wallet["address"] and body["position"]["role"] == "holder"
    moved = [e for e in body["timeline"] if e["type"] == "repo.PositionTransferred"]
    assert len(moved) == 1, body["timeline"]
    assert moved[0]["data"]["to"] == c_wallet["address"]
    assert env.b_trader.get(f"/v1/repos/{repo_id}").status_code == 404  # the former holder no longer sees it
    positions = c_trader.get(f"/v1/positions?min_block={block}").json()
    assert repo_id in [p["repo_id"] for p in positions["data"]]

    # early repurchase: the seller proposes, the new holder consents, the seller sends it before maturity
    proposal = call(env.a_trader, f"/v1/repos/{repo_id}/early-repurchase")
    assert proposal.status_code == 201, proposal.text
    instruction = proposal.json()["id"]
    assert proposal.json()["kind"] == "EarlyRepurchase"
    assert repo_state(d, repo_id)[STATUS] == OPEN
    # the seller's organization signs nothing here: its approver sees the instruction but cannot stop it
    a_approver = env.world.user("a", Role.APPROVER, "a-early-approver")
    assert a_approver.get(f"/v1/instructions/{instruction}").status_code == 200
    no = call(a_approver, f"/v1/instructions/{instruction}/rejections", {"reason": "we keep the repo after all"})
    assert no.status_code == 403, no.text
    assert a_approver.get(f"/v1/instructions/{instruction}").json()["status"] == "pending"
    # the repo's instructions: the seller and the new holder list it; the former holder and operator staff do not
    for party, seen in ((env.a_trader, [instruction, rerate.json()["id"]]), (c_trader, [instruction])):
        listed = party.get(f"/v1/repos/{repo_id}/instructions")
        assert listed.status_code == 200 and [i["id"] for i in listed.json()["data"]] == seen, listed.text
    for outsider in (env.b_trader, env.admin):
        assert outsider.get(f"/v1/repos/{repo_id}/instructions").status_code == 404
    # nothing to send before the holder's consent: refused, and nothing changes
    step_up(env.a_trader)
    early = call(env.a_trader, f"/v1/instructions/{instruction}/submit")
    assert early.status_code == 409 and "nothing to send" in early.json()["detail"], early.text
    assert c_trader.get(f"/v1/instructions/{instruction}").json()["status"] == "pending"
    signed = sign_instruction(env, instruction, c_trader)
    assert signed["status"] == "pending", signed  # signed by the holder; the seller's organization sends it
    c_cash, maturity = env.cash_of(c_wallet["address"]), int(repo_state(d, repo_id)[10])
    step_up(env.a_trader)
    r = call(env.a_trader, f"/v1/instructions/{instruction}/submit")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted", r.json()
    final = wait_for(lambda: repo_state(d, repo_id), lambda s: s[STATUS] == REPURCHASED)
    assert d.now() < maturity
    assert env.cash_of(c_wallet["address"]) > c_cash + int(final[4]) - 1  # PP and the price differential so far
