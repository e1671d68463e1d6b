"""What the browser tests share: where Chromium and axe-core are, the marks that skip without them, signing in,
and the accessibility check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/setup installs it)"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm, scripts/setup)"),
]


def launch(p: Any) -> Any:
    """Debian's Chromium, headless (Playwright's own browser download cannot work here)."""
    return p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])


def axe_serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    # the test injects it through the DevTools protocol (the page's CSP refuses inline scripts, rightly)
    assert page.evaluate("() => {" + AXE.read_text() + "\n; return typeof window.axe; }") == "object"
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']}: {v['help']}" for v in result if v["impact"] in ("serious", "critical")]


def sign_in(page: Any, member: Any, ready: str = "live") -> None:
    """Password and a TOTP code, then wait until the page says ``ready`` (a member's: the stream is live)."""
    page.get_by_label("Email", exact=True).fill(member.user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(member.totp_now())
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(ready, exact=True).wait_for(timeout=30_000)


def snapshot(page: Any, name: str) -> None:
    """A full-page screenshot into ``REPONET_WEB_SCREENSHOTS`` when it names a directory (for a review or a note);
    nothing otherwise."""
    folder = os.environ.get("REPONET_WEB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def open_app(browser: Any, origin: str, errors: list[str]) -> Any:
    """The app in a fresh browser context (its own cookies and storage: another person), under the page's own CSP;
    uncaught page errors go to ``errors``."""
    page = browser.new_context(bypass_csp=False).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{origin}/app")
    return page


def repo_pages(browser: Any, origin: str, errors: list[str], env: Any, repo_id: int) -> tuple[Any, Any]:
    """The repo's seller (A's trader) and holder (B's trader), each signed in a browser context of its own with the
    repo's panel open."""
    seller, holder = open_app(browser, origin, errors), open_app(browser, origin, errors)
    for page, member in ((seller, env.a_trader), (holder, env.b_trader)):
        sign_in(page, member)
        page.get_by_role("button", name=f"Manage repo {repo_id}").click()
        page.locator("#repo-facts").get_by_text(str(repo_id), exact=True).wait_for(timeout=30_000)
    return seller, holder
