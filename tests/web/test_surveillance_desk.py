"""Market surveillance on the compliance desk (real Chromium): an alert the surveillance service raised opens a
case; an officer sees the alert and the case, takes the case, comments and requests its close; the case is high
severity, so it stays open until a second officer confirms the close in a browser of their own. axe-core finds no
serious or critical violation on the desk."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from gateway.db.models import Role
from gateway.surveillance import cases
from gateway.surveillance.case_models import Severity
from tests.e2e.test_lifecycle_paths import Env
from tests.web.browser import MARKS, axe_serious, launch, open_app, sign_in, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")


def test_two_officers_work_a_high_case_to_a_four_eyes_close(served: tuple[Env, str]) -> None:
    env, origin = served
    world = env.world
    subject = str(world.orgs["a"])
    with world.ctx.sessions.begin() as session:  # as POST /v1/surveillance/alerts stores the service's alert
        raised = cases.raise_alert(
            session,
            data=cases.AlertIn(
                key=f"wash-{uuid.uuid4()}", source="rule", detector="wash_pair", typology="wash_trade",
                severity=Severity.HIGH, score=0.97, organization_id=world.orgs["a"], subject=subject,
                reason="two opposite repos between the same desks within a minute", top_features=[], evidence={},
                observed_at=datetime.now(UTC),
            ),
            actor="system:test",
        )  # fmt: skip
        session.flush()
        number, case_id = raised.case.number, raised.case.id
    one = world.user("op", Role.COMPLIANCE_OFFICER, "surveil-1")
    two = world.user("op", Role.COMPLIANCE_OFFICER, "surveil-2")
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            first, second = open_app(browser, origin, errors), open_app(browser, origin, errors)
            sign_in(first, one, ready="Compliance")
            first.locator("#alerts tr", has_text="two opposite repos between the same desks").wait_for(timeout=30_000)
            listed = first.locator("#cases tr", has_text=f"SC{number}")
            assert "high" in listed.inner_text() and "nobody" in listed.inner_text()
            first.get_by_role("button", name=f"Open case SC{number}").click()
            first.get_by_text(f"Case SC{number}: {subject}").wait_for(timeout=30_000)
            assert "wash_trade" in first.locator("#case-alerts").inner_text()

            first.get_by_role("button", name="Take the case").click()
            first.get_by_text(f"Case SC{number} is yours.").wait_for(timeout=30_000)
            note = "Comment, or the reason to escalate or close (the audit trail keeps it)"
            first.get_by_role("button", name="Comment").click()
            first.get_by_text("Write the comment or reason first.").wait_for(timeout=30_000)  # nothing sent empty
            first.get_by_label(note).fill("same desk both sides: asked the member for its order records")
            first.get_by_role("button", name="Comment").click()
            first.get_by_text(f"Comment added to case SC{number}.").wait_for(timeout=30_000)
            first.locator("#case-entries li", has_text="asked the member for its order records").wait_for(
                timeout=30_000
            )
            first.get_by_label(note).fill("records explain it: hedging between two books")
            first.get_by_role("button", name="Close the case").click()
            first.get_by_text("a second officer must confirm it").wait_for(timeout=30_000)
            assert "close requested" in first.locator("#case-facts").inner_text()
            assert axe_serious(first) == []
            snapshot(first, "surveillance-case")

            # the same officer cannot confirm their own close: four eyes are the gateway's
            first.get_by_label(note).fill("confirming myself")
            first.get_by_role("button", name="Close the case").click()
            first.get_by_text("a high-severity case is closed by a second person, not the one who asked").wait_for(
                timeout=30_000
            )
            assert one.get(f"/v1/surveillance/cases/{case_id}").json()["status"] == "close_requested"

            sign_in(second, two, ready="Compliance")
            second.get_by_role("button", name=f"Open case SC{number}").click()
            second.get_by_label(note).fill("agreed: no market abuse")
            second.get_by_role("button", name="Close the case").click()
            second.get_by_text(f"Case SC{number} is closed.").wait_for(timeout=30_000)
            assert second.locator("#case-actions").is_hidden()
            detail = two.get(f"/v1/surveillance/cases/{case_id}").json()
            assert detail["status"] == "closed" and detail["closed_by"] == str(two.id)
            assert errors == []
        finally:
            browser.close()
