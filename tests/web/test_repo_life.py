"""A repo's life after the open, clicked through in the browser by both members: the holder calls margin after the
price falls, the seller cures with cash margin and later repurchases at maturity (a fresh TOTP code), each step
followed on chain to its end, and each member's repo panel follows the other's steps live (the stream)."""

from __future__ import annotations

import pytest

from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import repo_state, wait_for
from tests.web.browser import MARKS, axe_serious, launch, sign_in, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")

TENOR = 20  # seconds: the repurchase waits for maturity (our node's clock is the wall clock)


def test_margin_call_cure_and_repurchase_in_the_browser(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    # the seller's own cash for the repo interest (the margin it posts stays in escrow until the close)
    env.issue_cash(env.a_wallet["address"], "1000")
    repo_id = env.open_custodial(tenor_seconds=TENOR)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            seller, holder = (browser.new_context(bypass_csp=False).new_page() for _ in range(2))
            for page, member in ((seller, env.a_trader), (holder, env.b_trader)):
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{origin}/app")
                sign_in(page, member)
                page.get_by_role("button", name=f"Manage repo {repo_id}").click()
                page.locator("#repo-panel").wait_for(state="visible", timeout=30_000)
                assert "open" in page.locator("#repo-facts").inner_text()
            assert "holder" in holder.locator("#repo-facts").inner_text()
            # each side sees only its own actions (by id: a missing or renamed button must fail, not pass as hidden)
            assert (
                seller.locator("#margin-call-button").is_hidden() and holder.locator("#margin-call-button").is_visible()
            )
            assert (
                holder.locator("#repurchase-button").is_hidden() and seller.locator("#repurchase-button").is_visible()
            )
            assert axe_serious(seller) == [] and axe_serious(holder) == []

            # the price falls: the holder calls margin, and the seller's panel shows it live
            env.price("80")
            holder.get_by_role("button", name="Call margin").click()
            holder.get_by_text("Done on chain").wait_for(timeout=60_000)
            for page in (holder, seller):
                page.locator("#repo-facts dd", has_text="margin called").first.wait_for(timeout=30_000)
            snapshot(seller, "repo-panel-margin-called")

            # the seller cures with cash margin (a fresh TOTP code), and the holder's panel shows the repo open again
            outstanding = int(repo_state(env.d, repo_id)[20])
            assert outstanding > 0
            seller.get_by_label("Cash margin to add").fill(str(outstanding // 10**CASH_DECIMALS + 1))
            seller.get_by_label("A fresh code from your authenticator app (margin and repurchase").fill(
                env.a_trader.totp_now()
            )
            seller.get_by_role("button", name="Post margin").click()
            seller.get_by_text("Done on chain").wait_for(timeout=60_000)
            position = env.a_trader.get(f"/v1/repos/{repo_id}").json()["position"]
            assert position["status"] == "open" and position["cash_margin"] != "0." + "0" * CASH_DECIMALS, position
            for page in (seller, holder):
                page.locator("#repo-facts dd", has_text="margin called").first.wait_for(
                    state="detached", timeout=30_000
                )

            # at maturity the seller repurchases; both panels end on "repurchased"
            env.d.advance(TENOR)
            seller.get_by_role("button", name="Repurchase").click()
            seller.get_by_text("Done on chain").wait_for(timeout=60_000)
            for page in (seller, holder):
                page.locator("#repo-facts dd", has_text="repurchased").first.wait_for(timeout=30_000)
                timeline = page.locator("#repo-timeline").inner_text()
                for event in ("RepoOpened", "MarginCalled", "MarginPosted", "MarginCallCured", "RepoRepurchased"):
                    assert event in timeline, timeline
            assert seller.locator("#repurchase-button").is_hidden() and seller.locator("#margin-form").is_hidden()
            # the pictures: the repo's life from open to maturity, and the collateral's price falling from 98 to 80
            # (drawn after the facts: wait until the repurchase is in the picture too)
            described = seller.locator("#repo-pictures svg[role=img] desc").first
            drawn = wait_for(lambda: described.text_content() or "", lambda text: "Repurchased" in text, timeout=30)
            life, prices = seller.locator("#repo-pictures svg[role=img]").all()
            for mark in ("Opened", "MarginCalled", "MarginCallCured", "Repurchased"):
                assert mark in drawn, drawn
            assert life.locator("circle.event").count() == holder.locator("#repo-timeline li").count()
            price_rows = seller.locator("#repo-pictures table").text_content() or ""
            assert "98 %" in price_rows and "80 %" in price_rows, price_rows
            assert "80 %" in (prices.locator("desc").text_content() or "")  # the last price, said in words
            assert env.a_trader.get(f"/v1/repos/{repo_id}").json()["position"]["status"] == "repurchased"
            assert axe_serious(seller) == [] and axe_serious(holder) == []
            assert errors == []
        finally:
            browser.close()
