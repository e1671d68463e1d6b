"""Exposure over time in the trader's page (real Chromium): the member's net exposure to a counterparty as the risk
service reported it each minute, drawn as a line in the agreement's base currency with the token's decimals, and
redrawn live when the stream says the risk service revalued (risk.exposure). The numbers stay readable as a table.
In a repo's panel its holder sees its own exposure on that repo over time in the repo's cash token; the seller, who
has none to watch, sees no such picture."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gateway.risk import messages
from gateway.risk.history import BUCKET_SECONDS, ExposurePoint, RepoExposurePoint
from gateway.risk.models import MarginAgreement
from tests.e2e.chains import CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.web.browser import MARKS, axe_serious, launch, open_app, repo_pages, sign_in, snapshot

pytestmark = MARKS
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")
UNIT = 10**CASH_DECIMALS


@pytest.fixture
def agreement(served: tuple[Env, str]) -> Iterator[None]:
    """An effective margin agreement between A and B in the cash token (superseded afterwards: the package's other
    tests run without one)."""
    env, _ = served
    orgs = env.world.orgs
    row_id = uuid.uuid4()
    with env.world.ctx.sessions.begin() as session:
        session.add(
            MarginAgreement(
                id=row_id,
                member_a=orgs["a"],
                member_b=orgs["b"],
                version=1,
                status="effective",
                base_currency=env.cash.lower(),
                threshold_units="0",
                minimum_transfer_units="0",
                rounding_units="0",
                method="B",
                cure_period_seconds=3600,
                proposed_by=orgs["a"],
                proposed_at=datetime.now(UTC),
                approved_by=orgs["b"],
                approved_at=datetime.now(UTC),
            )
        )
    yield
    with env.world.ctx.sessions.begin() as session:
        row = session.get(MarginAgreement, row_id)
        assert row is not None
        row.status = "superseded"


def _reported(env: Env, points: list[tuple[int, int]]) -> None:
    """A's exposure to B at (minutes ago, units), then the risk service's message on A's stream."""
    orgs = env.world.orgs
    now = int(datetime.now(UTC).timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS
    with env.world.ctx.sessions.begin() as session:
        for ago, units in points:
            session.add(
                ExposurePoint(
                    organization_id=orgs["a"],
                    counterparty_id=orgs["b"],
                    bucket=now - ago * BUCKET_SECONDS,
                    net_units=str(units),
                    repos=1,
                )
            )
        body = {"pairs": [{"counterparty_id": str(orgs["b"]), "net": str(points[-1][1]), "repos": 1}]}
        messages.record(session, organization_id=orgs["a"], kind="risk.exposure", body=body)


def test_exposure_per_counterparty_is_drawn_and_follows_the_risk_service(
    served: tuple[Env, str], agreement: None
) -> None:
    env, origin = served
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            page = open_app(browser, origin, errors)
            sign_in(page, env.a_trader)
            chart = page.locator("#exposure-chart")
            chart.get_by_text("nothing to draw yet").wait_for(timeout=30_000)
            _reported(env, [(3, -250 * UNIT), (2, 1_500 * UNIT // 10), (1, 12_345_678 * UNIT // 100)])
            picture = chart.locator("svg[role=img]")
            picture.wait_for(timeout=30_000)  # no reload: the risk.exposure event redrew it
            member = str(env.world.orgs["b"])[:8]
            assert chart.locator("ul.legend li").all_inner_texts() == [f"member {member} (EUR)"]
            rows = chart.locator("table tbody tr").all_text_contents()  # folded under the picture: text, not rendered
            assert len(rows) == 3, rows
            zeros = "0" * (CASH_DECIMALS - 2)
            assert "-250.00" + zeros + " EUR" in rows[0] and "150.00" + zeros + " EUR" in rows[1], rows
            assert "123,456.78" + zeros + " EUR" in rows[2], rows
            assert "last 123,456.78" + zeros + " EUR" in (picture.locator("desc").text_content() or "")
            assert picture.locator("polyline").count() == 1 and picture.locator("circle").count() == 3
            assert picture.locator("line.zero").count() == 1  # the exposure crossed zero
            assert axe_serious(page) == []
            snapshot(page, "exposure")
            assert errors == []
        finally:
            browser.close()


def test_a_repos_exposure_over_time_is_drawn_for_its_holder(served: tuple[Env, str]) -> None:
    env, origin = served
    env.price("98")
    repo_id = env.open_custodial(tenor_seconds=3600)  # A sells, B lends and holds
    now = int(datetime.now(UTC).timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS
    with env.world.ctx.sessions.begin() as session:  # what the risk service reported for B, minute by minute
        for ago, units in ((2, -4_000 * UNIT), (1, 2_500 * UNIT // 10)):
            session.add(
                RepoExposurePoint(
                    organization_id=env.world.orgs["b"], repo_id=repo_id, bucket=now - ago * BUCKET_SECONDS,
                    exposure_units=str(units),
                )
            )  # fmt: skip
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            errors: list[str] = []
            seller, holder = repo_pages(browser, origin, errors, env, repo_id)
            pictures = holder.locator("#repo-pictures")
            caption = pictures.locator("figcaption", has_text=f"Your exposure on repo {repo_id}, last day (EUR)")
            caption.wait_for(timeout=30_000)
            chart = pictures.locator("figure", has_text=f"Your exposure on repo {repo_id}")
            rows = chart.locator("table tbody tr").all_text_contents()
            zeros = "0" * (CASH_DECIMALS - 2)
            assert len(rows) == 2 and "-4,000.00" + zeros + " EUR" in rows[0] and "250.00" + zeros + " EUR" in rows[1]
            assert chart.locator("svg[role=img] polyline").count() == 1
            assert "last 250.00" + zeros + " EUR" in (chart.locator("desc").text_content() or "")
            seller.locator("#repo-pictures svg[role=img]").first.wait_for(timeout=30_000)  # the seller's drawn too
            assert seller.locator("#repo-pictures figure", has_text="Your exposure").count() == 0
            assert axe_serious(holder) == []
            snapshot(holder, "repo-exposure")
            assert errors == []
        finally:
            browser.close()
