"""The web app in Firefox (Debian's ESR, headless, over WebDriver BiDi) as well as Chromium: two members in two user
contexts sign in with password and TOTP, do RFQ -> quote -> accept with each step reaching the other live over the
WebSocket stream, read the terms in words, sign them with custodial wallets (a fresh TOTP code each) and both see the
repo open on chain; the same module scripts, cookie session with CSRF header, CSP and stream as in Chromium, with no
uncaught page error, nothing in local storage and no serious axe-core violation. Operator staff read the network's
state and verify the audit trail against the chain there too."""

from __future__ import annotations

import pytest

from gateway.db.models import Role
from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.gateway.conftest import PASSWORD, Member
from tests.web.browser import AXE
from tests.web.firefox import FIREFOX, Tab, firefox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not FIREFOX.exists(), reason="Debian's firefox-esr is not installed (scripts/setup installs it)"
    ),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm, scripts/setup)"),
]


def sign_in(tab: Tab, member: Member, origin: str, ready: str = "live") -> None:
    """Password and a TOTP code, then wait until the page shows ``ready`` (a member's: the stream is live)."""
    tab.goto(f"{origin}/app")
    tab.fill("Email", member.user.email)
    tab.fill("Password", PASSWORD)
    tab.fill("Authenticator code", member.totp_now())
    tab.click("button", "Sign in")
    tab.wait(
        "(t) => [...document.body.querySelectorAll('*')].some((e) => e.childElementCount === 0"
        " && e.textContent.trim() === t && e.getClientRects().length > 0)",
        ready,
    )


def axe_serious(tab: Tab) -> list[str]:
    """axe-core's serious and critical violations, injected through BiDi (the page's CSP refuses inline scripts)."""
    assert tab.call("() => {" + AXE.read_text() + "\n; return typeof window.axe; }") == "object"
    found = tab.call(
        "async () => (await axe.run(document)).violations"
        ".filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ': ' + v.help)"
    )
    return list(found)


def test_rfq_to_open_repo_in_firefox(served: tuple[Env, str]) -> None:
    env, origin = served
    cash_zeros = "0" * CASH_DECIMALS
    with firefox() as browser:
        borrower, lender = browser.person(), browser.person()
        sign_in(borrower, env.a_trader, origin)
        assert axe_serious(borrower) == []
        sign_in(lender, env.b_trader, origin)
        assert "Firefox" in lender.call("() => navigator.userAgent")
        b_org = str(env.world.orgs["b"])
        assert lender.text("#my-member") == b_org

        borrower.choose("Your wallet (gives collateral, receives cash)", env.a_wallet["address"][:10])
        borrower.fill("Counterparty member ID", b_org)
        borrower.fill("Purchase price (cash you borrow)", "310000")
        borrower.fill("Collateral amount", "325500")
        borrower.fill("Tenor (days)", "5")
        borrower.click("button", "Send RFQ")
        borrower.wait_text("sent:")

        asked = "#incoming-rfqs > li"
        lender.find("css", asked)  # no reload: rfq.created on B's stream refreshed the list
        assert f"borrow 310,000.{cash_zeros} " in lender.text(asked)
        lender.choose("Lending wallet", env.b_wallet["address"][:10], scope=asked)
        lender.fill("Rate (% a year)", "4.25", scope=asked)
        lender.fill("Haircut (basis points)", "150", scope=asked)
        lender.click("button", "Send quote", scope=asked)
        lender.wait_text("Quote sent: 4.25 % a year, haircut 150 bp")

        quote = "#own-rfqs li[data-quote]"
        borrower.find("css", quote)  # quote.submitted on A's stream
        assert "4.25 % a year, haircut 150 bp" in borrower.text(quote)
        borrower.click("button", "Accept quote", scope=quote)

        for tab in (borrower, lender):  # the lender learns of the acceptance from rfq.accepted
            tab.find("css", "#trade-terms")
            tab.wait_text("pending signatures", scope="#trade-terms")
            terms = tab.text("#trade-terms")
            assert f"310,000.{cash_zeros} " in terms and "4.25 % a year" in terms and "150 bp" in terms, terms
            assert env.a_wallet["address"].lower() in terms.lower() and env.b_wallet["address"].lower() in terms.lower()
        assert axe_serious(lender) == []

        for tab, member in ((borrower, env.a_trader), (lender, env.b_trader)):
            tab.fill("A fresh code from your authenticator app (signing asks for one)", member.totp_now())
            tab.click("button", "Sign the terms")
            tab.wait("() => document.getElementById('sign-form').hidden")  # this member's side is signed
        trade = next(
            t for t in env.a_trader.get("/v1/trades").json()["data"] if t["purchase_price"] == f"310000.{cash_zeros}"
        )
        for tab in (borrower, lender):
            tab.wait_text("Open on chain: repo", scope="#sign-status", timeout=90)
            repo_id = env.a_trader.get(f"/v1/trades/{trade['id']}").json()["repo_id"]
            assert repo_id is not None
            assert tab.text("#sign-status") == f"Open on chain: repo {repo_id}."
            tab.find("css", f'#repos tr[data-id="{repo_id}"]')  # the blotter, live
        assert browser.page_errors() == []
        assert borrower.call("() => window.localStorage.length") == 0


def test_operator_and_compliance_pages_in_firefox(served: tuple[Env, str]) -> None:
    env, origin = served
    officer = env.world.user("op", Role.COMPLIANCE_OFFICER, "ff-officer")
    with firefox() as browser:
        operator, compliance = browser.person(), browser.person()
        sign_in(operator, env.admin, origin, ready="Network operations")
        operator.wait_text("Head block", scope="#network-facts")
        head = operator.call(
            "() => [...document.querySelectorAll('#network-facts dt')]"
            ".find((e) => e.textContent === 'Head block').nextElementSibling.textContent"
        )
        assert str(head).isdigit() and int(head) >= 1, head
        operator.wait_text("database\tok", scope="#health")
        assert env.cash.lower() in operator.text("#instruments").lower()
        assert axe_serious(operator) == []

        sign_in(compliance, officer, origin, ready="Compliance")  # staff have no member stream
        assert compliance.call("() => document.getElementById('trader').hidden") is True
        compliance.click("button", "Verify against the chain")
        compliance.wait_text("Audit trail intact:")
        assert axe_serious(compliance) == []
        assert browser.page_errors() == []
