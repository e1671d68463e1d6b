"""The compliance officer at work in the browser (real Chromium against a gateway on our node): a new member's KYC
application waits with a screening hit on a beneficial owner; the officer clears the hit as a false positive and
approves the application with a fresh TOTP code, freezes the member with a reason and unfreezes it, and verifies
the audit trail, where each decision stands. The officer's page shows no trading; axe-core finds no serious or
critical violation on it."""

from __future__ import annotations

import pytest

from gateway.db.models import Role
from tests.e2e.test_lifecycle_paths import Env
from tests.gateway.conftest import application_body
from tests.gateway.market import call, custodial_wallet
from tests.web.browser import MARKS, axe_serious, launch, open_app, sign_in, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")


def test_the_officer_reviews_an_application_freezes_a_member_and_verifies_the_audit(served: tuple[Env, str]) -> None:
    env, origin = served
    world = env.world
    world.org("c", name="Fund C")
    applicant = world.user("c", Role.MEMBER_ADMIN, "c-admin")
    custodial_wallet(applicant)
    owners = [{"name": "Ivan Badactor", "ownership_percent": 25, "nationality": "GB"}]  # a name on the test list
    body = application_body(world, "c", legal_name="Fund C SA", beneficial_owners=owners)
    submitted = call(applicant, "/v1/kyc/applications", body)
    assert submitted.status_code == 201 and submitted.json()["status"] == "screening_hits", submitted.text
    application_id = submitted.json()["id"]
    officer = world.user("op", Role.COMPLIANCE_OFFICER, "officer")
    org_c = str(world.orgs["c"])
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            page = open_app(browser, origin, errors)
            sign_in(page, officer, ready="Compliance")  # operator staff have no member stream: nothing goes live
            assert page.locator("#trader").is_hidden() and page.locator("#blotter").is_hidden()
            item = page.locator(f'#kyc-queue li[data-id="{application_id}"]')
            item.wait_for(timeout=30_000)
            assert "Fund C SA" in item.inner_text() and "Ivan Badactor" in item.inner_text()
            assert axe_serious(page) == []
            snapshot(page, "compliance-kyc")

            item.get_by_role("button", name="Ivan Badactor is a false positive").click()
            page.get_by_text("Ivan Badactor: cleared as a false positive.").wait_for(timeout=30_000)
            item.get_by_text("false positive", exact=False).last.wait_for(timeout=30_000)
            item.get_by_label("Decision note for Fund C SA").fill("owner is a namesake: passport checked")
            item.get_by_role("button", name="Approve Fund C SA").click()
            page.get_by_text("Enter the 6-digit code from your authenticator app to decide an application.").wait_for(
                timeout=30_000
            )  # a decision asks for a fresh code: nothing was sent without one
            assert (
                world.client.get(f"/v1/kyc/applications/{application_id}", headers=applicant.headers).json()["status"]
                == "pending_review"
            )
            code = "A fresh code from your authenticator app (decisions and member actions ask for one)"
            page.get_by_label(code).fill(officer.totp_now())
            item.get_by_role("button", name="Approve Fund C SA").click()
            page.get_by_text("Fund C SA: approved").wait_for(timeout=30_000)
            item.wait_for(state="detached", timeout=30_000)  # decided: no longer in the queue

            member = page.locator(f'#members tr[data-id="{org_c}"]')
            member.wait_for(timeout=30_000)
            page.get_by_label("Reason for a freeze, unfreeze or revocation (the audit trail keeps it)").fill(
                "adverse media under review"
            )
            member.get_by_role("button", name="Freeze Fund C", exact=True).click()
            page.get_by_text("Fund C: KYC frozen.").wait_for(timeout=30_000)
            assert applicant.get(f"/v1/organizations/{org_c}").json()["kyc_status"] == "frozen"
            member.get_by_role("button", name="Unfreeze Fund C", exact=True).click()
            page.get_by_text("Give the reason for the member action: the audit trail keeps it.").wait_for(
                timeout=30_000
            )  # no reason, no action
            assert applicant.get(f"/v1/organizations/{org_c}").json()["kyc_status"] == "frozen"
            page.get_by_label("Reason for a freeze, unfreeze or revocation (the audit trail keeps it)").fill(
                "review closed: no finding"
            )
            member.get_by_role("button", name="Unfreeze Fund C", exact=True).click()
            page.get_by_text("Fund C: KYC approved.").wait_for(timeout=30_000)

            page.get_by_role("button", name="Verify against the chain").click()
            page.get_by_text("Audit trail intact:", exact=False).first.wait_for(timeout=30_000)
            actions = page.locator("#audit tr").evaluate_all("rows => rows.map((r) => r.children[3].textContent)")
            assert {"kyc.approved", "kyc.freeze", "kyc.unfreeze"} <= set(actions), actions
            assert axe_serious(page) == []
            snapshot(page, "compliance-audit")
            assert errors == []
        finally:
            browser.close()
