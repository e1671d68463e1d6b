"""A new person's first sign-in in the browser (real Chromium): the member's administrator created the user with a
password and no authenticator; the page shows the authenticator key and the recovery codes once, the first code
confirms the enrolment and signs in. "Sign out everywhere" then ends every session of that person, the page's and
one opened elsewhere through the API, not another person's."""

from __future__ import annotations

import pyotp
import pytest

from gateway.db.models import Organization, Role, User
from gateway.members import service
from tests.e2e.test_lifecycle_paths import Env
from tests.gateway.conftest import PASSWORD
from tests.web.browser import MARKS, axe_serious, launch, open_app, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")
EMAIL = "first.day@a.example"


def test_first_sign_in_enrols_the_authenticator_and_sign_out_everywhere_ends_every_session(
    served: tuple[Env, str],
) -> None:
    env, origin = served
    world = env.world
    with world.ctx.sessions() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None
        service.create_user(
            world.ctx, session, actor="test", organization=org, email=EMAIL, full_name="First Day",
            role=Role.TRADER, password=PASSWORD,
        )  # fmt: skip
    refused = world.client.post("/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 401 and refused.json()["type"].endswith("/mfa-required")
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            page = open_app(browser, origin, errors)
            page.get_by_label("Email (first sign-in)").fill(EMAIL)
            page.get_by_label("Password (first sign-in)").fill(PASSWORD)
            page.get_by_role("button", name="Get my authenticator key").click()
            secret = page.locator("#enrol-secret")
            secret.wait_for(state="visible", timeout=30_000)
            key = secret.inner_text()
            assert page.locator("#enrol-uri").get_attribute("href", timeout=5_000).startswith("otpauth://totp/")
            assert page.locator("#enrol-recovery li").count() >= 8  # shown once, as text
            assert axe_serious(page) == []
            snapshot(page, "enrolment")
            page.get_by_label("The code your authenticator app shows now").fill(pyotp.TOTP(key).now())
            page.get_by_role("button", name="Confirm and sign in").click()
            page.get_by_text("live", exact=True).wait_for(timeout=30_000)  # signed in: the member's stream
            assert page.locator("#enrol-secret").inner_text() == ""  # the key is not left on the page

            # the same person signed in elsewhere (the API), and another person of the member
            with world.ctx.sessions.begin() as session:
                user = session.query(User).filter_by(email=EMAIL).one()
                user.totp_last_step = 0  # the code above was this step's: a later one in real life
            login = {"email": EMAIL, "password": PASSWORD, "totp_code": pyotp.TOTP(key).now()}
            elsewhere = world.client.post("/v1/auth/login", json=login)
            assert elsewhere.status_code == 200, elsewhere.text
            theirs = {"Authorization": f"Bearer {elsewhere.json()['access_token']}"}
            others = {"Authorization": f"Bearer {env.b_trader.login()['access_token']}"}
            assert world.client.get("/v1/me", headers=theirs).status_code == 200

            page.get_by_role("button", name="Sign out everywhere").click()
            page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)  # the page starts again
            assert world.client.get("/v1/me", headers=theirs).status_code == 401
            refresh = {"refresh_token": elsewhere.json()["refresh_token"]}
            assert world.client.post("/v1/auth/refresh", json=refresh).status_code == 401
            assert world.client.get("/v1/me", headers=others).status_code == 200  # not another person's
            assert errors == []
        finally:
            browser.close()
