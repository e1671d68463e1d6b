"""The rest of a repo's remedies clicked through in the browser by its two custodial members: the seller takes excess
collateral back, the holder moves the position to another of its verified wallets, calls margin after the price
falls, declares the default once the cure period has passed and closes the repo out; on an open repo (no maturity)
the holder gives termination notice. Each step is followed on chain to its end; each side sees only its own
buttons."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chains import BOND_DECIMALS
from tests.e2e.test_lifecycle_paths import COLLATERAL, MATURITY, Env
from tests.e2e.test_trading_chain import repo_state
from tests.gateway.market import custodial_wallet, step_up
from tests.web.browser import MARKS, axe_serious, launch, repo_pages

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")
CURE = 5  # seconds: the margin cure period of the repo that defaults
CODE = "A fresh code from your authenticator app (margin and repurchase"


def _done(page: Any) -> None:
    """The page's step followed to its end on chain (each step clears the status line when it starts)."""
    page.locator("#repo-status").get_by_text("Done on chain").wait_for(timeout=60_000)


def test_withdraw_excess_transfer_default_close_out_and_notice(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    # 120,000 nominal at 98 % less 2 %: 115,248 against 100,000 owed, about 15,000 of excess
    repo_id = env.open_custodial(tenor_seconds=3600, margin_cure_period_seconds=CURE)
    open_ended = env.open_custodial(notice_period_seconds=60)  # neither tenor nor maturity
    step_up(env.b_trader)
    other = custodial_wallet(env.b_trader, "second desk")["address"]  # B's, verified on chain at once
    try:
        with playwright.sync_playwright() as p:
            browser = launch(p)
            try:
                errors: list[str] = []
                seller, holder = repo_pages(browser, origin, errors, env, repo_id)
                for hidden in ("#default-button", "#transfer-form", "#close-out-button", "#terminate-button"):
                    assert seller.locator(hidden).is_hidden(), hidden  # a term repo's seller: none of the holder's
                assert holder.locator("#withdraw-form").is_hidden() and holder.locator("#default-button").is_visible()

                # the seller takes 5,000 nominal back (a fresh code)
                seller.get_by_label("Collateral to take back").fill("5000")
                seller.get_by_label(CODE).fill(env.a_trader.totp_now())
                seller.get_by_role("button", name="Withdraw excess").click()
                _done(seller)
                assert repo_state(env.d, repo_id)[COLLATERAL] == 115_000 * 10**BOND_DECIMALS

                # the holder moves the position to its other wallet
                holder.get_by_label("To wallet").fill(other)
                holder.get_by_label(CODE).fill(env.b_trader.totp_now())
                holder.get_by_role("button", name="Transfer the position").click()
                _done(holder)
                assert env.holder(repo_id).lower() == other.lower()

                # the price falls: margin call, the cure period passes, default, close-out
                env.price("60")
                holder.get_by_role("button", name="Call margin").click()
                _done(holder)
                env.d.advance(CURE + 1)
                holder.get_by_role("button", name="Declare default").click()
                _done(holder)
                for page in (holder, seller):
                    page.locator("#repo-facts dd", has_text="defaulted").first.wait_for(timeout=30_000)
                assert holder.locator("#default-button").is_hidden() and seller.locator("#close-out-button").is_hidden()
                holder.get_by_label(CODE).fill(env.b_trader.totp_now())
                holder.get_by_role("button", name="Close out").click()
                _done(holder)
                for page in (holder, seller):
                    page.locator("#repo-facts dd", has_text="closed out").first.wait_for(timeout=30_000)
                assert env.b_trader.get(f"/v1/repos/{repo_id}").json()["position"]["status"] == "closed_out"
                assert axe_serious(holder) == []

                # an open repo: either side may give notice; the holder does, and the repo gets its maturity
                holder.get_by_role("button", name=f"Manage repo {open_ended}").click()
                holder.locator("#repo-facts").get_by_text(str(open_ended), exact=True).wait_for(timeout=30_000)
                assert repo_state(env.d, open_ended)[MATURITY] == 0
                holder.get_by_label(CODE).fill(env.b_trader.totp_now())
                holder.get_by_role("button", name="Give termination notice").click()
                _done(holder)
                assert repo_state(env.d, open_ended)[MATURITY] > 0
                holder.locator("#terminate-button").wait_for(state="hidden", timeout=30_000)
                assert errors == []
            finally:
                browser.close()
    finally:
        env.price("98")  # the package's other tests value their repos at 98
