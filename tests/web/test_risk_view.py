"""The trader's risk view (real Chromium): where the member's live book is concentrated — per counterparty its side,
repos, collateral value and net exposure in the cash token's decimals and currency, per issuer the collateral — and
the risk service's notices; a repo opened while the page is open shows up without a reload (the stream)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.risk.cure_models import RiskNotice
from tests.e2e.test_lifecycle_paths import Env
from tests.web.browser import MARKS, axe_serious, launch, open_app, sign_in

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")


def test_concentration_and_notices_in_the_traders_page(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    env.open_custodial(tenor_seconds=3600)
    with env.world.ctx.sessions.begin() as session:  # as the risk service's reminder is stored
        session.add(
            RiskNotice(
                organization_id=env.world.orgs["a"], repo_id=4242, kind="cure_reminder", key="web-risk-view",
                detail={"cure_deadline": "2026-12-31T12:00:00Z"}, created_at=datetime.now(UTC),
            )
        )  # fmt: skip
    b = f"member {str(env.world.orgs['b'])[:8]}"
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            page = open_app(browser, origin, errors)
            sign_in(page, env.a_trader)
            row = page.locator("#risk-counterparties tr", has_text=b)
            row.wait_for(timeout=30_000)
            before = env.a_trader.get("/v1/risk/concentration").json()
            [mine] = [x for x in before["by_counterparty"] if x["key"] == str(env.world.orgs["b"])]
            cells = row.locator("td").all_inner_texts()
            assert cells[1] == "borrower" and cells[2] == str(mine["repos"]), cells  # A sold collateral: it borrowed
            assert cells[3].endswith(" EUR") and cells[3].replace(",", "").startswith(mine["collateral_value"][:6])
            assert page.locator("#risk-issuers tr").count() >= 1
            notice = page.locator("#risk-notices tr", has_text="cure reminder")
            assert "4242" in notice.inner_text() and "cure deadline: 2026-12-31T12:00:00Z" in notice.inner_text()
            assert axe_serious(page) == []

            env.open_custodial(tenor_seconds=3600)  # the page follows the book without a reload
            page.locator("#risk-counterparties tr", has_text=b).locator("td").nth(2).get_by_text(
                str(mine["repos"] + 1), exact=True
            ).wait_for(timeout=60_000)
            assert errors == []
        finally:
            browser.close()
