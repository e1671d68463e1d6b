"""End to end on our own node: a repo is opened through the gateway, margin is called and posted, and the seller
repurchases; each member's daily SFTR file (API, XML) validates against the shipped schema, carries one record per
event with the right action, the CLI writes the same file, and the two sides reconcile without a break."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from gateway.db.models import Role
from gateway.exit_status import ExitStatus
from gateway.reporting.cli import cmd_corrections, cmd_daily, cmd_validate
from gateway.reporting.csv_export import from_csv, to_csv
from gateway.reporting.xml_export import NAMESPACE, validation_errors
from tests.e2e.chains import BOND_DECIMALS, ChainProcess, Deployment, deploy, start_chain
from tests.e2e.test_trading_chain import post_price, repo_state, settled, wait_for
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import World
from tests.gateway.market import approve_member, call, custodial_wallet, step_up

pytestmark = pytest.mark.slow
B = 10**BOND_DECIMALS
NS = f"{{{NAMESPACE}}}"


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain("reponet-node", tmp_path)


@pytest.fixture
def deployment(chain: ChainProcess) -> Deployment:
    return deploy(chain)


@pytest.fixture
def world(deployment: Deployment, tmp_path: Path) -> Iterator[World]:
    yield from chain_world(deployment, tmp_path)


def _actions(xml: bytes) -> list[str]:
    return [el.tag.split("}")[1] for el in etree.fromstring(xml).iterfind(f".//{NS}Rpt/*")]


def test_open_margin_repurchase_reported_and_reconciled(deployment: Deployment, world: World, tmp_path: Path) -> None:
    d = deployment
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
    officer = world.user("op", Role.COMPLIANCE_OFFICER, "officer")
    a_trader = world.user("a", Role.TRADER, "atrader")
    a_admin = world.user("a", Role.MEMBER_ADMIN, "aadmin")
    b_trader = world.user("b", Role.TRADER, "btrader")
    a_wallet, b_wallet = custodial_wallet(a_trader), custodial_wallet(b_trader)
    approve_member(world, "a")
    approve_member(world, "b")
    cash, bond = d.addresses["cash"], d.addresses["bond"]
    for address, kind in ((cash, "cash"), (bond, "bond")):
        assert call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind}).status_code == 201
    for wallet, amount in ((b_wallet, "5000000"), (a_wallet, "100000")):
        settled(
            admin,
            call(admin, "/v1/operator/cash/issue", json={"token": cash, "wallet": wallet["address"], "amount": amount}),
        )
    d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 5_000_000 * B))
    post_price(admin, admin2, bond, cash, "98")
    first_day = datetime.fromtimestamp(d.now(), UTC).date()

    rfq = call(
        a_trader,
        "/v1/rfqs",
        json={
            "seller_wallet_id": a_wallet["id"],
            "cash_token": cash,
            "collateral_token": bond,
            "purchase_price": "1000000",
            "collateral_amount": "1050000",
            "tenor_seconds": 30,
            "min_transfer_amount": "1000",
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
            "lenders": [str(world.orgs["b"])],
        },
    )
    assert rfq.status_code == 201, rfq.text
    quote = call(
        b_trader,
        f"/v1/rfqs/{rfq.json()['id']}/quotes",
        json={"buyer_wallet_id": b_wallet["id"], "rate": "0.035", "haircut_bps": 200},
    )
    assert quote.status_code == 201, quote.text
    trade = call(a_trader, f"/v1/rfqs/{rfq.json()['id']}/accept", json={"quote_id": quote.json()["id"]})
    assert trade.status_code == 201, trade.text
    trade_id = trade.json()["id"]
    for member in (a_trader, b_trader):
        assert call(member, f"/v1/trades/{trade_id}/sign").status_code == 200
    opened = wait_for(lambda: a_trader.get(f"/v1/trades/{trade_id}").json(), lambda t: t["status"] != "settling")
    assert opened["status"] == "open", opened
    repo_id = opened["repo_id"]

    post_price(admin, admin2, bond, cash, "90")
    settled(b_trader, call(b_trader, f"/v1/repos/{repo_id}/margin-call"))
    outstanding = repo_state(d, repo_id)[20]
    settled(
        a_trader, call(a_trader, f"/v1/repos/{repo_id}/margin", json={"cash_amount": f"{outstanding // 10**6 + 1}"})
    )

    d.advance(max(0, repo_state(d, repo_id)[10] - d.now()) + 1)
    step_up(a_trader)
    post_price(admin, admin2, bond, cash, "90")
    settled(a_trader, call(a_trader, f"/v1/repos/{repo_id}/repurchase"))
    wait_for(
        lambda: a_trader.get(f"/v1/repos/{repo_id}").json(),
        lambda body: "position" in body and body["position"]["status"] == "repurchased",
    )
    last_day = datetime.fromtimestamp(d.now(), UTC).date()
    days = sorted({first_day, last_day})

    # each side's daily files: valid XML, one record per event, the right actions in order
    sides = {"a": (a_admin, "GIVE"), "b": (officer, "TAKE")}  # B's file read by the operator's compliance officer
    for key, (reader, side) in sides.items():
        actions: list[str] = []
        prices: list[str] = []
        for day in days:
            r = reader.get(f"/v1/organizations/{world.orgs[key]}/reports/sftr/daily", params={"date": day.isoformat()})
            assert r.status_code == 200, r.text
            assert validation_errors(r.content) == []
            actions += _actions(r.content)
            prices += [str(el.text) for el in etree.fromstring(r.content).iter(f"{NS}Pric")]
            if _actions(r.content):
                assert {el.text for el in etree.fromstring(r.content).iter(f"{NS}CtrPtySd")} == {side}
        assert actions == ["New", "ValtnUpd", "CollUpd", "ValtnUpd", "EarlyTermntn"], actions
        # the collateral at the price of each event: 98 % of par at the open, 90 % from the margin call on
        assert len(prices) == 5 and float(prices[0]) > float(prices[1]) and len(set(prices[1:])) == 1, prices

    # the CLI writes the same file from the database, and it validates
    out = tmp_path / "a.xml"
    args = argparse.Namespace(member=world.lei_of("a"), date=last_day.isoformat(), format="xml", out=str(out))
    assert cmd_daily(args, world.ctx.settings) == ExitStatus.OK
    assert cmd_validate(argparse.Namespace(file=str(out)), world.ctx.settings) == ExitStatus.OK
    assert "EarlyTermntn" in _actions(out.read_bytes())

    # a day sent before with the opening valued at the price of the reporting day (90) is corrected by the CLI:
    # one CORR record, at the price of the open (98), and the file validates
    sent = tmp_path / "a-sent.csv"
    args = argparse.Namespace(member=world.lei_of("a"), date=first_day.isoformat(), format="csv", out=str(sent))
    assert cmd_daily(args, world.ctx.settings) == ExitStatus.OK
    records = from_csv(sent.read_text())
    late = records[-1].collateral_price
    sent.write_text(to_csv([dataclasses.replace(records[0], collateral_price=late), *records[1:]]))
    fixed = tmp_path / "a-corr.xml"
    args = argparse.Namespace(
        member=world.lei_of("a"), date=first_day.isoformat(), reported=str(sent), format="xml", out=str(fixed)
    )
    assert cmd_corrections(args, world.ctx.settings) == ExitStatus.OK
    assert validation_errors(fixed.read_bytes()) == []
    assert _actions(fixed.read_bytes()) == ["Crrctn"]
    assert [el.text for el in etree.fromstring(fixed.read_bytes()).iter(f"{NS}Pric")] == [records[0].collateral_price]

    # both sides' reports of the repo pair by UTI and agree
    for day in days:
        rec = a_admin.get(f"/v1/organizations/{world.orgs['a']}/reports/sftr/reconciliation", params={"date": day})
        assert rec.status_code == 200, rec.text
        assert rec.json()["breaks"] == [] and rec.json()["paired"] == rec.json()["matched"] == 1, rec.json()
