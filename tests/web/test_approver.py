"""The approver at work in the browser (real Chromium against a gateway on our node): member A's policy holds back a
large trade's signature; the approver's queue shows it live with the rule that asks, the approver approves and the
trader's signature then goes through; a second trade the approver rejects with a reason, and the trader's blotter
shows the rejection live and the trade cancelled. A trader has no approvals section at all. axe-core finds no
serious or critical violation on the queue or the rejection form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.db.models import Role
from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.gateway.conftest import Member
from tests.gateway.market import call, step_up
from tests.web.browser import MARKS, axe_serious, launch, open_app, sign_in, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")

LARGE = "1600000"  # above the rule's limit; the package's other tests trade far less, so the rule never meets them


def _policy(admins: tuple[Member, Member], rules: list[dict[str, Any]]) -> None:
    """A's rules, by one administrator's draft and another's approval (four eyes)."""
    first, second = admins
    draft = call(first, "/v1/policy/drafts", {"rules": rules})
    assert draft.status_code == 201, draft.text
    decided = call(second, f"/v1/policy/drafts/{draft.json()['id']}/decision", {"approve": True})
    assert decided.status_code == 200, decided.text


@pytest.fixture
def large_needs_approval(served: tuple[Env, str]) -> Iterator[None]:
    env, _ = served
    admins = env.world.user("a", Role.MEMBER_ADMIN, "a-admin1"), env.world.user("a", Role.MEMBER_ADMIN, "a-admin2")
    rule = {"name": "large", "when": {"notional_over": "1500000"}, "action": "require_approvals", "approvals": 1}
    _policy(admins, [rule])
    yield
    _policy(admins, [])  # the package's other tests meet no rule of A's


def _large_trade(env: Env) -> str:
    rfq = call(
        env.a_trader,
        "/v1/rfqs",
        {
            "seller_wallet_id": env.a_wallet["id"],
            "cash_token": env.cash,
            "collateral_token": env.bond,
            "purchase_price": LARGE,
            "collateral_amount": "1700000",
            "tenor_seconds": 7 * 86_400,
            "lenders": [str(env.world.orgs["b"])],
        },
    )
    assert rfq.status_code == 201, rfq.text
    quote = call(
        env.b_trader,
        f"/v1/rfqs/{rfq.json()['id']}/quotes",
        {"buyer_wallet_id": env.b_wallet["id"], "rate": "0.03", "haircut_bps": 200},
    )
    assert quote.status_code == 201, quote.text
    trade = call(env.a_trader, f"/v1/rfqs/{rfq.json()['id']}/accept", {"quote_id": quote.json()["id"]})
    assert trade.status_code == 201, trade.text
    return str(trade.json()["id"])


def _sign(env: Env, trade_id: str) -> Any:
    step_up(env.a_trader)
    return call(env.a_trader, f"/v1/trades/{trade_id}/sign")


def test_the_approver_approves_one_trade_and_rejects_another(
    served: tuple[Env, str], large_needs_approval: None
) -> None:
    env, origin = served
    approver = env.world.user("a", Role.APPROVER, "a-approver")
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            desk, blotter = (open_app(browser, origin, errors) for _ in range(2))
            for page, member in ((desk, approver), (blotter, env.a_trader)):
                sign_in(page, member)
            desk.get_by_text("Nothing awaits your approval.").wait_for(timeout=30_000)
            assert blotter.locator("#approvals").is_hidden()  # a trader approves nothing: no such section

            first = _large_trade(env)
            row = desk.locator(f'#approval-rows tr[data-id="{first}"]')
            row.wait_for(timeout=30_000)  # no reload: the acceptance on A's stream refreshed the queue
            held = _sign(env, first)  # the trader's signature waits for it
            assert held.status_code == 409 and held.json()["type"].endswith("/approval-required")
            text = row.inner_text()
            assert f"1,600,000.{'0' * CASH_DECIMALS} " in text and "large" in text and "0 of 1" in text, text
            assert str(env.world.orgs["b"]) in text and f"trade {first[:8]}" in text
            assert axe_serious(desk) == []
            snapshot(desk, "approver-queue")
            row.get_by_role("button", name="Approve").click()
            desk.get_by_text(f"Approved trade {first[:8]}").wait_for(timeout=30_000)
            row.get_by_text("1 of 1; enough unless the signer is one of them").wait_for(timeout=30_000)
            assert row.get_by_role("button", name=f"Approve trade {first[:8]}").is_disabled()
            assert "You have approved it." in row.inner_text()  # why the button is disabled, in words
            signed = _sign(env, first)
            assert signed.status_code == 200 and signed.json()["trade"]["seller"]["signed"], signed.text
            assert first not in [i["id"] for i in approver.get("/v1/approvals").json()["data"]]  # signed: done

            second = _large_trade(env)
            assert _sign(env, second).status_code == 409
            other = desk.locator(f'#approval-rows tr[data-id="{second}"]')
            other.wait_for(timeout=30_000)
            other.get_by_role("button", name="Reject").click()
            reason = desk.get_by_label("Reason (the requester and the counterparty read it)")
            assert reason.evaluate("(node) => node === document.activeElement")  # the keyboard is where the reason goes
            assert axe_serious(desk) == []
            snapshot(desk, "approver-reject")
            reason.fill("above today's limit with this counterparty")
            desk.get_by_role("button", name="Confirm the rejection").click()
            said = f"Rejected trade {second[:8]} (your side: seller): above today's limit with this counterparty"
            desk.get_by_text(said).wait_for(timeout=30_000)
            other.wait_for(state="detached", timeout=30_000)
            assert desk.locator("#reject-form").is_hidden()

            blotter.locator("#events li", has_text="trade.rejected").wait_for(timeout=30_000)  # live, to the trader
            cancelled = blotter.locator(f'#trades tr[data-id="{second}"]')
            cancelled.get_by_text("cancelled").wait_for(timeout=30_000)
            cancelled.get_by_role("button", name=f"Review the terms of trade {second[:8]}").click()
            terms = blotter.locator("#trade-terms-list")
            terms.get_by_text("above today's limit with this counterparty").wait_for(timeout=30_000)  # the why
            assert "Rejected by an approver" in terms.inner_text()
            assert env.b_trader.get(f"/v1/trades/{second}").json()["status"] == "cancelled"  # for both parties
            assert env.a_trader.get(f"/v1/trades/{first}").json()["status"] == "pending_signatures"
            assert errors == []
        finally:
            browser.close()
