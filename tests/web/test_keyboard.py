"""The app with the keyboard alone (real Chromium): a trader signs in by Tab, typing and Enter, sends an RFQ from the
form the same way, and every control it passes on the way shows where the focus is (a visible outline); the repo
panel opens from the blotter with Enter. No mouse click anywhere."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_lifecycle_paths import Env
from tests.gateway.conftest import PASSWORD
from tests.web.browser import MARKS, launch, open_app

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")

# the focused element: its id or label, and whether its outline shows (the stylesheet's :focus-visible ring)
FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return { id: e.id, text: (e.getAttribute('aria-label') || e.textContent || '').trim(), tag: e.tagName,
           ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
}"""


def tab_to(page: Any, wanted: str, most: int = 200) -> None:
    """Press Tab until the element with id (or accessible name) ``wanted`` has the focus; each control on the way
    shows its ring."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] in ("INPUT", "BUTTON", "SELECT", "TEXTAREA"):
            assert focused["ring"], f"no visible focus on {focused}"
        if wanted in (focused["id"], focused["text"]):
            return
    raise AssertionError(f"{wanted} is not reachable with Tab")


def test_a_trader_signs_in_and_asks_for_a_repo_with_the_keyboard_alone(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    repo_id = env.open_custodial(tenor_seconds=3600)
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            page = open_app(browser, origin, errors)
            for field, text in (("email", env.a_trader.user.email), ("password", PASSWORD)):
                tab_to(page, field)
                page.keyboard.type(text)
            tab_to(page, "totp")
            page.keyboard.type(env.a_trader.totp_now())
            page.keyboard.press("Enter")  # the form's submit
            page.get_by_text("live", exact=True).wait_for(timeout=30_000)

            b_org = str(env.world.orgs["b"])
            for field, text in (
                ("rfq-counterparty", b_org),
                ("rfq-price", "120000"),
                ("rfq-collateral-amount", "126000"),
            ):
                tab_to(page, field)
                page.keyboard.press("Control+A")
                page.keyboard.type(text)
            page.keyboard.press("Enter")
            page.get_by_text("sent:").wait_for(timeout=30_000)
            assert any(r["purchase_price"].startswith("120000.") for r in env.a_trader.get("/v1/rfqs").json()["data"])

            page.locator(f'#repos tr[data-id="{repo_id}"]').wait_for(timeout=30_000)
            tab_to(page, f"Manage repo {repo_id}")
            page.keyboard.press("Enter")
            page.locator("#repo-facts").get_by_text(str(repo_id), exact=True).wait_for(timeout=30_000)
            assert errors == []
        finally:
            browser.close()
