"""The web app in real Chromium (Debian's, headless, driven by Playwright for Python) against a gateway on our node:
a trader signs in with password and TOTP, sees the blotter, and the repo appears in it live (the WebSocket stream)
when a trade between two members opens on chain; two members in two browser contexts do RFQ -> quote -> accept, each
seeing the other's step live, both read the trade's terms in words before any signature, then each signs with a
custodial wallet (a fresh TOTP code) and both see the repo open on chain; axe-core finds no
serious or critical violation on the sign-in page, the blotter or the trading view."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway.db.models import Role
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, deploy, start_chain
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import settled
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import PASSWORD
from tests.gateway.market import approve_member, call, custodial_wallet

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/setup installs it)"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm, scripts/setup)"),
]
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, str]]:
    """Our node, the deployment, and the gateway served over HTTP on a port of its own (the browser's origin)."""
    tmp_path = tmp_path_factory.mktemp("web")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for chain in start_chain("reponet-node", tmp_path):
        d = deploy(chain)
        for world in chain_world(d, tmp_path, public_origin=origin):
            admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
            admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
            a_trader, b_trader = world.user("a", Role.TRADER, "atrader"), world.user("b", Role.TRADER, "btrader")
            a_wallet, b_wallet = custodial_wallet(a_trader), custodial_wallet(b_trader)
            approve_member(world, "a")
            approve_member(world, "b")
            for address, kind in ((d.addresses["cash"], "cash"), (d.addresses["bond"], "bond")):
                assert (
                    call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind}).status_code == 201
                )
            issue = {"token": d.addresses["cash"], "wallet": b_wallet["address"], "amount": "2000000"}
            settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 2_000_000 * 10**BOND_DECIMALS))
            env = Env(d, world, admin, admin2, a_trader, b_trader, a_wallet, b_wallet)
            config = uvicorn.Config(world.client.app, lifespan="off", log_level="warning")  # the world runs it
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
            thread.start()
            try:
                yield env, origin
            finally:
                server.should_exit = True
                thread.join(timeout=10)


def _axe_serious(page: Any) -> list[str]:
    # the test injects it through the DevTools protocol (the page's CSP refuses inline scripts, rightly)
    assert page.evaluate("() => {" + AXE.read_text() + "\n; return typeof window.axe; }") == "object"
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']}: {v['help']}" for v in result if v["impact"] in ("serious", "critical")]


def test_sign_in_and_see_the_repo_appear_live(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_context(bypass_csp=False).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{origin}/app")
            assert _axe_serious(page) == []
            page.get_by_label("Email").fill(env.a_trader.user.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_label("Authenticator code").fill(env.a_trader.totp_now())
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text("live", exact=True).wait_for(timeout=30_000)
            assert page.locator("#repos tr").count() == 0
            repo_id = env.open_custodial(tenor_seconds=3600)
            row = page.locator(f'#repos tr[data-id="{repo_id}"]')
            row.wait_for(timeout=60_000)  # no reload: the stream's event refreshed the blotter
            text = row.inner_text()
            assert f"100,000.{'0' * CASH_DECIMALS} " in text and "seller" in text, text  # the token's decimals
            assert page.locator("#events li").count() >= 1
            assert _axe_serious(page) == []
            assert errors == []
            assert page.evaluate("() => window.localStorage.length") == 0
        finally:
            browser.close()


def _sign_in(page: Any, member: Any) -> None:
    page.get_by_label("Email").fill(member.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(member.totp_now())
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("live", exact=True).wait_for(timeout=30_000)


def test_rfq_quote_accept_between_two_members(served: tuple[Env, str]) -> None:
    env, origin = served
    cash_zeros = "0" * CASH_DECIMALS
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            errors: list[str] = []
            borrower, lender = (browser.new_context(bypass_csp=False).new_page() for _ in range(2))
            for page, member in ((borrower, env.a_trader), (lender, env.b_trader)):
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{origin}/app")
                _sign_in(page, member)
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
            assert _axe_serious(lender) == []
            asked.get_by_label("Rate (% a year)").fill("3.5")
            asked.get_by_label("Haircut (basis points)").fill("200")
            asked.get_by_role("button", name="Send quote").click()
            asked.get_by_text("Quote sent: 3.5 % a year, haircut 200 bp").wait_for(timeout=30_000)

            quote = borrower.locator("#own-rfqs li[data-quote]")
            quote.wait_for(timeout=30_000)  # quote.submitted on A's stream
            assert "3.5 % a year, haircut 200 bp" in quote.inner_text()
            assert _axe_serious(borrower) == []
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
            assert _axe_serious(borrower) == [] and _axe_serious(lender) == []

            # both sign with their custodial wallets in the browser (a fresh TOTP code each), and the repo opens
            for page, member in ((borrower, env.a_trader), (lender, env.b_trader)):
                page.get_by_label("A fresh code from your authenticator app").fill(member.totp_now())
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
            assert _axe_serious(borrower) == [] and _axe_serious(lender) == []
            assert errors == []
            assert borrower.evaluate("() => window.localStorage.length") == 0
        finally:
            browser.close()
