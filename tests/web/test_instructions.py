"""Changes both sides sign, clicked through in the browser by the two members of a custodial repo: the seller
proposes a re-rate, the holder's panel shows it live in words, each side signs with a fresh authenticator code, and
the relayer sends it (the engine's RepoRerated); then the seller proposes an early repurchase, the holder consents,
and the seller sends it from its wallet, which ends the repo before maturity. A stranger's page never hears of it."""

from __future__ import annotations

import pytest

from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import REPURCHASED, STATUS, Env
from tests.e2e.test_trading_chain import repo_state, wait_for
from tests.web.browser import MARKS, axe_serious, launch, repo_pages, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")
RATE = 5  # the repo engine's rate slot (int256, 1e18 = 100 % a year)


def test_rerate_and_early_repurchase_signed_by_both_in_the_browser(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    env.issue_cash(env.a_wallet["address"], "1000")  # the seller's own cash for the interest
    repo_id = env.open_custodial(tenor_seconds=3600)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            seller, holder = repo_pages(browser, origin, errors, env, repo_id)
            for page in (seller, holder):
                page.get_by_text("No change has been proposed on this repo.").wait_for(timeout=30_000)
            # the holder may not propose a substitution (the seller's), only the other changes
            assert holder.locator('#propose-kind option[value="substitution"]').is_disabled()
            assert not seller.locator('#propose-kind option[value="substitution"]').is_disabled()

            # the seller proposes a re-rate to 5 % a year; the holder's panel shows it live, in words
            seller.get_by_label("Change", exact=True).select_option("rerate")
            seller.get_by_label("New rate (% a year)").fill("5")
            seller.get_by_role("button", name="Propose").click()
            seller.get_by_text("Proposed: Re-rate: 5 % a year from now on").wait_for(timeout=30_000)
            proposal = holder.locator("#instruction-list li", has_text="Re-rate: 5 % a year from now on")
            proposal.wait_for(timeout=30_000)  # no reload: instruction.created on the stream
            assert "pending · signed 0 of 2" in proposal.inner_text()
            assert axe_serious(holder) == []
            snapshot(holder, "repo-instructions")

            # the holder signs (a fresh code); the seller's panel shows it live, then the seller signs last
            holder.get_by_label("A fresh code from your authenticator app (signing and sending").fill(
                env.b_trader.totp_now()
            )
            holder.get_by_role("button", name="Sign: Re-rate: 5 % a year from now on").click()
            holder.get_by_text("Signed: 1 of 2 signatures.").wait_for(timeout=30_000)
            seller.locator("#instruction-list li", has_text="signed 1 of 2").wait_for(timeout=30_000)
            seller.get_by_label("A fresh code from your authenticator app (signing and sending").fill(
                env.a_trader.totp_now()
            )
            seller.get_by_role("button", name="Sign: Re-rate: 5 % a year from now on").click()
            seller.get_by_text("Signed, and on its way to the chain").wait_for(timeout=30_000)
            wait_for(lambda: repo_state(env.d, repo_id), lambda s: int(s[RATE]) == 5 * 10**16)
            for page in (seller, holder):
                page.locator("#repo-timeline li", has_text="RepoRerated").wait_for(timeout=30_000)
                page.locator("#instruction-list li", has_text="submitted · signed 2 of 2").wait_for(timeout=30_000)

            # an early repurchase: the seller proposes, the holder consents, the seller sends it from its wallet
            seller.get_by_label("Change", exact=True).select_option("early")
            assert seller.locator("#propose-rate-field").is_hidden()  # only the fields of the chosen change
            seller.get_by_role("button", name="Propose").click()
            early = "Repurchase now, before maturity"
            holder.locator("#instruction-list li", has_text=early).wait_for(timeout=30_000)
            holder.get_by_label("A fresh code from your authenticator app (signing and sending").fill(
                env.b_trader.totp_now()
            )
            holder.get_by_role("button", name=f"Sign: {early}, at the repurchase price accrued so far").click()
            send = seller.get_by_role(
                "button", name=f"Send from your wallet: {early}, at the repurchase price accrued so far"
            )
            send.wait_for(timeout=30_000)  # the holder's consent, live
            assert (
                holder.get_by_role(
                    "button", name=f"Send from your wallet: {early}, at the repurchase price accrued so far"
                ).count()
                == 0
            )
            b_cash = env.cash_of(env.b_wallet["address"])
            seller.get_by_label("A fresh code from your authenticator app (signing and sending").fill(
                env.a_trader.totp_now()
            )
            send.click()
            seller.get_by_text("Sent: the repo shows it once it is in a block.").wait_for(timeout=30_000)
            state = wait_for(lambda: repo_state(env.d, repo_id), lambda s: s[STATUS] == REPURCHASED)
            assert env.cash_of(env.b_wallet["address"]) > b_cash + int(state[4]) - 10**CASH_DECIMALS  # PP and PD
            for page in (seller, holder):
                page.locator("#repo-facts dd", has_text="repurchased").first.wait_for(timeout=30_000)
            assert seller.locator("#propose-form").is_hidden()  # nothing more to propose on a closed repo
            assert axe_serious(seller) == []
            assert errors == []
        finally:
            browser.close()
