"""The network operator in the browser (real Chromium against a gateway on our node): the administrator's view shows
the node's head, its validators, peers and pool as GET /v1/operator/network/status reads them over JSON-RPC, the
contracts, the gateway's readiness, the master keys' versions and what is sealed under each, the instruments, the
bond's price history drawn with its guard rails, and the members; a member's trader gets none of it (403). axe-core
finds no serious or critical violation on it."""

from __future__ import annotations

import pytest

from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import wait_for
from tests.web.browser import MARKS, axe_serious, launch, open_app, sign_in, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")


def test_the_operator_sees_the_network_and_the_gateways_health(served: tuple[Env, str]) -> None:
    env, origin = served
    assert env.a_trader.get("/v1/operator/network/status").status_code == 403  # operator staff only
    status = env.admin.get("/v1/operator/network/status")
    assert status.status_code == 200, status.text
    reading = status.json()
    assert reading["head"] >= env.d.w3.eth.block_number - 5 and reading["head_age_seconds"] is not None
    assert reading["pool"] is not None and reading["peers"] is not None, reading["unavailable"]
    assert reading["validators"] and reading["unavailable"] == {}  # our node answers every reading (one validator)
    env.price("99.5")
    pair = {"asset": env.bond, "quote": env.cash}
    history = wait_for(
        lambda: env.a_trader.get("/v1/prices/history", params=pair).json(),  # market data: members read it too
        lambda h: h["data"] and h["data"][-1]["price_percent_of_par"] == "99.5",
    )
    assert history["guard_rails"]["last_price_stale"] is False and history["guard_rails"]["max_price_move_bps"] >= 1
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            page = open_app(browser, origin, errors)
            sign_in(page, env.admin, ready="Network operations")
            page.locator("#operator[aria-busy=false]").wait_for(timeout=30_000)  # every part drawn (members last)
            facts = page.locator("#network-facts")
            head = page.locator("#network-facts dt:has-text('Head block') + dd").inner_text()
            assert head.isdigit() and int(head) >= reading["head"], head
            assert env.engine.lower() in facts.inner_text().lower()  # where the repo engine is
            assert reading["validators"][0] in facts.inner_text()
            health = page.locator("#health").inner_text()
            assert "database\tok" in health and "chain\tok" in health, health
            instruments = page.locator("#instruments").inner_text().lower()
            assert env.cash.lower() in instruments and env.bond.lower() in instruments
            assert "Bank A" in page.locator("#operator-members").inner_text()
            keys = env.admin.get("/v1/operator/keys").json()
            key_facts = page.locator("#keys-facts").inner_text()
            assert f"Sealing under\nv{keys['current_version']}" in key_facts, key_facts
            sealed = page.locator("#keys-sealed").inner_text()
            assert f"v{keys['current_version']}\t{keys['sealed'][-1]['secrets']}" in sealed, sealed
            prices = page.locator("#prices")
            assert "last 99.5 % of par" in prices.inner_text(), prices.inner_text()
            rails = history["guard_rails"]
            assert f"A move over {rails['max_price_move_bps']} bps waits for a second operator" in prices.inner_text()
            chart = prices.locator("svg[role=img]").first
            assert "99.5 %" in (chart.locator("desc").text_content() or "")
            drawn = prices.locator("table tbody tr")  # the chart's numbers, one row per price point
            assert drawn.count() == len(history["data"]) and "99.5 %" in (drawn.last.text_content() or "")
            assert page.locator("#blotter").is_hidden() and page.locator("#compliance").is_hidden()
            assert axe_serious(page) == []
            snapshot(page, "operator")
            assert errors == []
        finally:
            browser.close()
