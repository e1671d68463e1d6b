"""The web app in real Chromium (Debian's, headless, driven by Playwright for Python) against a gateway on our node:
a trader signs in with password and TOTP, sees the blotter, and the repo appears in it live (the WebSocket stream)
when a trade between two members opens on chain; two members in two browser contexts do RFQ -> quote -> accept, each
seeing the other's step live, both read the trade's terms in words before any signature, then each signs with a
custodial wallet (a fresh TOTP code) and both see the repo open on chain; axe-core finds no
serious or critical violation on the sign-in page, the blotter or the trading view."""

from __future__ import annotations

import pytest

from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.web.browser import MARKS, axe_serious, launch, sign_in, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")


def test_sign_in_and_see_the_repo_appear_live(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(bypass_csp=False).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{origin}/app")
            assert axe_serious(page) == []
            snapshot(page, "sign-in")
            sign_in(page, env.a_trader)
            shown = set(page.locator("#repos tr").evaluate_all("rows => rows.map((r) => r.dataset.id)"))
            repo_id = env.open_custodial(tenor_seconds=3600)
            assert str(repo_id) not in shown
            row = page.locator(f'#repos tr[data-id="{repo_id}"]')
            row.wait_for(timeout=60_000)  # no reload: the stream's event refreshed the blotter
            text = row.inner_text()
            assert f"100,000.{'0' * CASH_DECIMALS} " in text and "seller" in text, text  # the token's decimals
            assert page.locator("#events li").count() >= 1
            assert axe_serious(page) == []
            snapshot(page, "blotter")
            assert errors == []
            assert page.evaluate("() => window.localStorage.length") == 0
        finally:
            browser.close()


def test_rfq_quote_accept_between_two_members(served: tuple[Env, str]) -> None:
    env, origin = served
    cash_zeros = "0" * CASH_DECIMALS
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            borrower, lender = (browser.new_context(bypass_csp=False).new_page() for _ in range(2))
            for page, member in ((borrower, env.a_trader), (lender, env.b_trader)):
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{origin}/app")
                sign_in(page, member)
            b_org = str(env.world.orgs["b"])
            assert lender.locator("#my-member").inner_text() == b_org  # what B gives A to be asked

            borrower.get_by_label("Counterparty member ID").fill(b_org)
            borrower.get_by_label("Purchase price (cash you borrow)").fill("250000")
            borrower.get_by_label("Collateral amount", exact=True).fill("262500")
            borrower.get_by_label("Tenor (days)").fill("7")
            borrower.get_by_role("button", name="Send RFQ").click()
            borrower.get_by_text("sent:").wait_for(timeout=30_000)

            asked = lender.locator("#incoming-rfqs > li")
            asked.wait_for(timeout=30_000)  # no reload: rfq.created on B's stream refreshed the list
            assert f"borrow 250,000.{cash_zeros} " in asked.inner_text(), asked.inner_text()
            assert axe_serious(lender) == []
            asked.get_by_label("Rate (% a year)").fill("3.5")
            asked.get_by_label("Haircut (basis points)").fill("200")
            asked.get_by_role("button", name="Send quote").click()
            asked.get_by_text("Quote sent: 3.5 % a year, haircut 200 bp").wait_for(timeout=30_000)

            quote = borrower.locator("#own-rfqs li[data-quote]")
            quote.wait_for(timeout=30_000)  # quote.submitted on A's stream
            assert "3.5 % a year, haircut 200 bp" in quote.inner_text()
            assert axe_serious(borrower) == []
            quote.get_by_role("button", name="Accept quote").click()

            for page in (borrower, lender):  # the lender learns of the acceptance from rfq.accepted
                terms = page.locator("#trade-terms")
                terms.wait_for(state="visible", timeout=30_000)
                text = terms.inner_text()
                assert f"250,000.{cash_zeros} " in text, text
                assert "3.5 % a year" in text and "200 bp" in text and "pending signatures" in text, text
                assert (
                    env.a_wallet["address"].lower() in text.lower() and env.b_wallet["address"].lower() in text.lower()
                )
            trades = env.a_trader.get("/v1/trades").json()["data"]
            assert any(t["purchase_price"] == f"250000.{cash_zeros}" for t in trades)  # the API's terms, not the page's
            assert axe_serious(borrower) == [] and axe_serious(lender) == []
            snapshot(borrower, "trade-terms")

            # both sign with their custodial wallets in the browser (a fresh TOTP code each), and the repo opens
            for page, member in ((borrower, env.a_trader), (lender, env.b_trader)):
                page.get_by_label("A fresh code from your authenticator app (signing asks for one)").fill(
                    member.totp_now()
                )
                page.get_by_role("button", name="Sign the terms").click()
                page.locator("#sign-form").wait_for(state="hidden", timeout=30_000)  # this member's side is signed
            trade = next(
                t
                for t in env.a_trader.get("/v1/trades").json()["data"]
                if t["purchase_price"] == f"250000.{cash_zeros}"
            )
            for page in (borrower, lender):
                page.get_by_text("Open on chain: repo").wait_for(timeout=90_000)
                repo_id = env.a_trader.get(f"/v1/trades/{trade['id']}").json()["repo_id"]
                assert repo_id is not None
                assert page.locator("#sign-status").inner_text() == f"Open on chain: repo {repo_id}."
                page.locator(f'#repos tr[data-id="{repo_id}"]').wait_for(timeout=30_000)
                assert page.locator("#sign-form").is_hidden()
            assert axe_serious(borrower) == [] and axe_serious(lender) == []
            assert errors == []
            assert borrower.evaluate("() => window.localStorage.length") == 0
        finally:
            browser.close()
