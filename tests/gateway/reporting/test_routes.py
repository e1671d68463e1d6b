"""The report routes on a real database of indexed rows: A's daily file validates, both sides reconcile, and only
those who hold ``reports:read`` and may see A get it."""

from datetime import UTC, datetime

from lxml import etree

from gateway.db.models import Wallet
from gateway.indexer.models import OraclePrice
from gateway.reporting.xml_export import NAMESPACE, validation_errors
from gateway.settlement_records.models import IndexerCursor, RepoEvent, RepoRecord
from gateway.trading.models import Instrument
from tests.gateway.conftest import Cast, World
from tests.gateway.reporting.factories import BOND, BOND2, CASH, DAY, PRICES, T0, lifecycle

SELLER, BUYER = "0x" + "1" * 40, "0x" + "2" * 40
FIRST_DAY = datetime.fromtimestamp(T0, UTC).date().isoformat()
LAST_DAY = datetime.fromtimestamp(T0 + 7 * DAY, UTC).date().isoformat()


def _index(world: World) -> None:
    """What the indexer would have written for one repo of A (seller) with B (buyer)."""
    with world.ctx.sessions.begin() as session:
        session.add(Wallet(organization_id=world.orgs["a"], address=SELLER, kind="custodial", label="a"))
        session.add(Wallet(organization_id=world.orgs["b"], address=BUYER, kind="custodial", label="b"))
        session.add(Instrument(address=CASH, kind="cash", symbol="EURD", name="Euro", decimals=6, currency="EUR"))
        for address, isin in ((BOND, "DE0001102580"), (BOND2, "FR0013508470")):
            session.add(Instrument(address=address, kind="bond", symbol=isin, name=isin, decimals=0, isin=isin))
        for (asset, quote), price in PRICES.items():
            session.add(OraclePrice(asset=asset, quote=quote, price=str(price), updated_at=T0))
        session.add(
            RepoRecord(
                repo_id=7, seller=SELLER, buyer=BUYER, holder=BUYER, seller_org_id=world.orgs["a"],
                holder_org_id=world.orgs["b"], cash_token=CASH, collateral_token=BOND2, collateral_amount="1100",
                purchase_price=str(10**12), rate=str(4 * 10**16), day_count_basis=360, haircut_bps=200,
                status="repurchased", opened_at=T0, maturity=T0 + 7 * DAY, period_start=T0,
            )
        )  # fmt: skip
        session.add(IndexerCursor(name="repo_engine", last_block=8))
        for e in lifecycle():
            session.add(
                RepoEvent(
                    repo_id=7, name=e.name, args=dict(e.args), block_number=e.block_number, block_hash=e.tx_hash,
                    block_time=e.block_time, log_index=e.log_index, tx_hash=e.tx_hash,
                )
            )  # fmt: skip


def test_daily_xml_validates_and_reconciles(world: World, cast: Cast) -> None:
    _index(world)
    a, b = world.orgs["a"], world.orgs["b"]
    response = cast.a_admin.get(f"/v1/organizations/{a}/reports/sftr/daily", params={"date": FIRST_DAY, "min_block": 8})
    assert response.status_code == 200, response.text
    assert response.headers["x-reponet-block"] == "8"  # the indexed block the file reflects
    assert response.headers["content-type"].startswith("application/xml")
    assert validation_errors(response.content) == []
    tree = etree.fromstring(response.content)
    assert tree.findtext(f".//{{{NAMESPACE}}}RptgMmb/{{{NAMESPACE}}}LEI") == world.lei_of("a")
    assert [el.tag.split("}")[1] for el in tree.iterfind(f".//{{{NAMESPACE}}}Rpt/*")] == ["New"]
    assert tree.findtext(f".//{{{NAMESPACE}}}CtrPtySd") == "GIVE"

    last = cast.b_admin.get(f"/v1/organizations/{b}/reports/sftr/daily", params={"date": LAST_DAY, "format": "csv"})
    assert last.status_code == 200 and last.headers["content-type"].startswith("text/csv")
    rows = last.text.splitlines()
    assert len(rows) == 2 and ",TAKE,ETRM," in rows[1]

    rec = cast.a_admin.get(f"/v1/organizations/{a}/reports/sftr/reconciliation", params={"date": FIRST_DAY})
    assert rec.status_code == 200, rec.text
    assert {k: rec.json()[k] for k in ("records_ours", "records_theirs", "paired", "matched", "breaks")} == {
        "records_ours": 1,
        "records_theirs": 1,
        "paired": 1,
        "matched": 1,
        "breaks": [],
    }


def test_who_may_read_a_members_reports(world: World, cast: Cast) -> None:
    _index(world)
    path = f"/v1/organizations/{world.orgs['a']}/reports/sftr/daily"
    assert cast.officer1.get(path, params={"date": FIRST_DAY}).status_code == 200  # compliance: every member
    assert cast.a_trader.get(path, params={"date": FIRST_DAY}).status_code == 403  # no reports:read
    assert cast.b_admin.get(path, params={"date": FIRST_DAY}).status_code == 404  # another member's
    assert cast.a_admin.get(path, params={"date": "not-a-day"}).status_code == 422
