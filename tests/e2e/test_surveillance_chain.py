"""Surveillance live against our node, through the gateway: the service (its own loop, the operator's two-scope
key, the gateway's feed) sees a wash trade, A repos the bond to B and B repos it straight back to A at the same
size, raise a high-severity alert within 2 s of the second leg being agreed, and the alert opens a case. A second
service started on the same state file resumes after the cursor: it raises nothing again.

The activity rules on the same node and gateway: repeated failed sign-ins, a self-held seller's own repurchase
counted as a close, a trade agreed after its seller's KYC was frozen with the seller's refused signatures, and a
changed sanctions list naming a member's wallet each raise their alert from what the gateway recorded."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select

from gateway.db.models import AuditEntry, Organization, Role
from gateway.kyc.rescreen import reload_if_changed, rescreen_if_changed
from gateway.kyc.upkeep import expire_lapsed
from gateway.surveillance.grant import grant
from gateway.surveillance.scorer import Scorer, configured_event_rules
from gateway.surveillance.store import Store
from gateway.surveillance.watcher import Watcher
from tests.e2e.chains import BOND_DECIMALS, deploy, start_chain
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import settled, wait_for
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import SANCTIONS_CSV, Member, application_body
from tests.gateway.market import call, register_self_held, step_up

pytestmark = pytest.mark.slow
B = 10**BOND_DECIMALS
ALERT_SECONDS = 2.0


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, Member, Path]]:
    tmp_path: Path = tmp_path_factory.mktemp("surveillance-node")
    for chain in start_chain("reponet-node", tmp_path):
        d = deploy(chain)
        for world in chain_world(d, tmp_path):
            env = Env.desk(d, world)
            admin, a_wallet, b_wallet = env.admin, env.a_wallet, env.b_wallet
            officer = world.user("op", Role.COMPLIANCE_OFFICER, "officer")
            for wallet in (a_wallet, b_wallet):
                issue = {"token": d.addresses["cash"], "wallet": wallet["address"], "amount": "1000000"}
                settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
                d.send(d.deployer, d.bond.functions.mint(wallet["address"], 1_000_000 * B))
            config = tmp_path / "surveillance.json"
            config.write_text(json.dumps({"gateway_url": "https://gateway.test", "api_key": None}))
            with world.ctx.sessions() as session:
                grant(session, config_path=config, officer_email=officer.user.email, days=1)
            yield env, officer, config


def agree(env: Env, seller: Member, seller_wallet: dict[str, Any], buyer: Member, buyer_wallet: dict[str, Any]) -> str:
    """A repo of the bond proposed by the seller's trader, signed by both: agreed, then opened on chain."""
    body = {
        "role": "seller",
        "wallet_id": seller_wallet["id"],
        "counterparty_wallet": buyer_wallet["address"],
        "cash_token": env.cash,
        "collateral_token": env.bond,
        "purchase_price": "100000",
        "collateral_amount": "120000",
        "rate": "0.05",
        "haircut_bps": 200,
        "min_transfer_amount": "1000",
        "margin_cure_period_seconds": 3600,
        "grace_period_seconds": 3600,
    }
    r = call(seller, "/v1/trades", json=body)
    assert r.status_code == 201, r.text
    trade = str(r.json()["id"])
    for member in (seller, buyer):
        step_up(member)
        r = call(member, f"/v1/trades/{trade}/sign")
        assert r.status_code == 200, r.text
    return trade


def test_a_wash_trade_raises_an_alert_within_2s_and_opens_a_case(env: tuple[Env, Member, Path], tmp_path: Path) -> None:
    e, officer, config = env
    key = lambda: str(json.loads(config.read_text())["api_key"])  # noqa: E731 - re-read, as the service does
    store = Store(tmp_path / "state.db")
    watcher = Watcher(e.world.client, store, Scorer(), api_key=key)
    stop = threading.Event()
    service = threading.Thread(target=watcher.run, args=(stop, 0.05), daemon=True)
    service.start()
    try:
        first = agree(e, e.a_trader, e.a_wallet, e.b_trader, e.b_wallet)
        e.wait_open(first)
        second = agree(e, e.b_trader, e.b_wallet, e.a_trader, e.a_wallet)
        agreed = time.monotonic()
        alerts = wait_for(
            lambda: officer.get("/v1/surveillance/alerts").json()["data"],
            lambda rows: any(a["detector"] == "wash_trade" for a in rows),
            timeout=10,
        )
        latency = time.monotonic() - agreed
        print(f"wash trade agreed -> alert stored: {latency:.3f} s")
        assert latency < ALERT_SECONDS
    finally:
        stop.set()
        service.join(timeout=10)
    wash = next(a for a in alerts if a["detector"] == "wash_trade")
    assert wash["severity"] == "high" and wash["typology"] == "wash"
    assert [t["trade_id"] for t in wash["evidence"]["trades"]] == [first, second]
    assert wash["subject"] == str(e.world.orgs["b"])  # the second leg's seller
    case = officer.get(f"/v1/surveillance/cases/{wash['case_id']}").json()
    assert case["status"] == "open" and case["severity"] == "high"
    assert case["entries"][0]["kind"] == "opened"
    body = wait_for(lambda: e.b_trader.get(f"/v1/trades/{second}").json(), lambda t: t["status"] != "settling")
    assert body["status"] == "open", body  # the wash leg settled on our node too

    before = len(officer.get("/v1/surveillance/alerts").json()["data"])
    again = Watcher(e.world.client, store, Scorer(), api_key=key)
    assert again.replay() > 0 and again.tick() >= 0
    assert len(officer.get("/v1/surveillance/alerts").json()["data"]) == before
    store.close()


@contextlib.contextmanager
def service(
    e: Env, config: Path, state: Path, scorer: Scorer | None = None
) -> Iterator[tuple[Callable[[], str], Store]]:
    """The surveillance service's loop in a thread on its own state file (from the feed's start): its key and
    state."""
    key = lambda: str(json.loads(config.read_text())["api_key"])  # noqa: E731
    store = Store(state)
    stop = threading.Event()
    thread = threading.Thread(
        target=Watcher(e.world.client, store, scorer or Scorer(), api_key=key).run, args=(stop, 0.05), daemon=True
    )
    thread.start()
    try:
        yield key, store
    finally:
        stop.set()
        thread.join(timeout=10)
        store.close()


def alert(officer: Member, detector: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    rows = wait_for(
        lambda: officer.get("/v1/surveillance/alerts").json()["data"],
        lambda rows: any(a["detector"] == detector and match(a) for a in rows),
        timeout=30,
    )
    found: dict[str, Any] = next(a for a in rows if a["detector"] == detector and match(a))
    return found


def test_repeated_failed_sign_ins_raise_an_alert(env: tuple[Env, Member, Path], tmp_path: Path) -> None:
    e, officer, config = env
    probed = e.world.user("b", Role.VIEWER, "probed")
    with service(e, config, tmp_path / "state.db"):
        for _ in range(5):
            body = {"email": probed.user.email, "password": "not the password", "totp_code": "000000"}
            assert e.world.client.post("/v1/auth/login", json=body).status_code == 401
        found = alert(officer, "repeated_failures", lambda a: f"user:{probed.user.id}" in a["reason"])
    assert found["subject"] == str(e.world.orgs["b"]) and found["severity"] == "medium"
    assert len(found["evidence"]["feed_sequences"]) == 5


def test_a_self_held_sellers_own_repurchase_is_a_close_on_the_feed(
    env: tuple[Env, Member, Path], tmp_path: Path
) -> None:
    """A's self-held wallet sells, and repurchases with its own transaction: the repurchase, final on chain, is on
    the feed under the repo with its parties, and the rapid open-and-close rule (told one is enough) counts it."""
    e, officer, config = env
    d, owner = e.d, Account.create()
    wallet = register_self_held(e.a_trader, owner.address, owner, "cold")
    d.send(d.deployer, d.bond.functions.mint(owner.address, 200_000 * B))
    issue = {"token": e.cash, "wallet": owner.address, "amount": "1000"}  # the price differential
    settled(e.admin, call(e.admin, "/v1/operator/cash/issue", json=issue))
    for token in (d.bond, d.cash):
        d.send(owner, token.functions.approve(e.engine, 2**256 - 1))  # the self-held wallet's own transactions
    trade = e.direct_trade(seller_wallet_id=wallet["id"], buyer=e.b_wallet["address"])
    doc = e.a_trader.get(f"/v1/trades/{trade}/typed-data").json()
    signature = "0x" + bytes(owner.sign_typed_data(full_message=doc["typed_data"]).signature).hex()
    assert call(e.a_trader, f"/v1/trades/{trade}/signature", json={"signature": signature}).status_code == 200
    step_up(e.b_trader)
    assert call(e.b_trader, f"/v1/trades/{trade}/sign").status_code == 200
    repo_id = e.wait_open(trade)
    step_up(e.a_trader)
    asked = call(e.a_trader, f"/v1/repos/{repo_id}/repurchase")
    assert asked.status_code == 202 and asked.json()["settlement"] is None, asked.text  # nothing the gateway sends
    from contracts.deploy import _send

    tx = asked.json()["transaction"]
    _send(d.w3, owner, {"to": tx["to"], "data": tx["data"]}, "repurchase")
    scorer = Scorer(rules=[], event_rules=configured_event_rules({"rapid_open_close": {"min_count": 1}}))
    with service(e, config, tmp_path / "state.db", scorer) as (key, _):
        found = alert(officer, "rapid_open_close", lambda a: f"repos {repo_id};" in a["reason"])
        closes = [
            i
            for i in e.world.client.get(
                "/v1/surveillance/feed",
                params={"after": found["evidence"]["feed_sequences"][0] - 1, "limit": 500},
                headers={"X-API-Key": key()},
            ).json()["data"]
            if i["action"] == "repo.repurchased"
        ]
    assert found["subject"] == str(e.world.orgs["a"])
    assert [(i["repo"]["repo_id"], i["repo"]["seller_org"]) for i in closes] == [(repo_id, str(e.world.orgs["a"]))]


def test_a_trade_agreed_after_kyc_lapsed_refused_signatures_and_a_renewal(
    env: tuple[Env, Member, Path], tmp_path: Path
) -> None:
    """A signs; A's KYC then lapses in our record (its expiry passed: the maintenance pass marks it expired) while
    the registry still verifies its wallet, so B's signature agrees the trade: alerted on A (kyc_lapsed). A's trader
    then tries to sign another trade five times: each refusal by the custody door counts (repeated_failures). A's
    renewal is approved: A's next trade raises no kyc_lapsed alert."""
    e, officer, config = env
    org = str(e.world.orgs["a"])
    first = e.direct_trade(seller_wallet_id=e.a_wallet["id"], buyer=e.b_wallet["address"])
    second = e.direct_trade(seller_wallet_id=e.a_wallet["id"], buyer=e.b_wallet["address"], purchase_price="90000")
    step_up(e.a_trader)
    assert call(e.a_trader, f"/v1/trades/{first}/sign").status_code == 200
    with e.world.ctx.sessions() as session:
        session.get(Organization, e.world.orgs["a"]).kyc_expiry = datetime.now(UTC) - timedelta(minutes=1)  # type: ignore[union-attr]
        session.commit()
        assert [str(o.id) for o in expire_lapsed(session)] == [org]  # the maintenance loop's pass
    with service(e, config, tmp_path / "state.db") as (_, store):
        step_up(e.b_trader)
        signed = call(e.b_trader, f"/v1/trades/{first}/sign")
        assert signed.status_code == 200, signed.text
        lapsed = alert(officer, "kyc_lapsed", lambda a: first in a["reason"])
        for _ in range(5):
            step_up(e.a_trader)
            refused = call(e.a_trader, f"/v1/trades/{second}/sign")
            assert refused.status_code == 403 and refused.json()["type"].endswith("/wallet-not-verified"), refused.text
        failures = alert(officer, "repeated_failures", lambda a: f"wallet:{e.a_wallet['id']}" in a["reason"])

        a_approver = e.world.user("a", Role.APPROVER, "aapprover")
        applied = a_approver.post("/v1/kyc/applications", json=application_body(e.world, "a"))
        assert applied.status_code == 201, applied.text
        step_up(officer)
        decided = call(officer, f"/v1/kyc/applications/{applied.json()['id']}/decision", json={"approve": True})
        assert decided.status_code == 200, decided.text
        third = e.direct_trade(seller_wallet_id=e.a_wallet["id"], buyer=e.b_wallet["address"], purchase_price="80000")
        for member in (e.a_trader, e.b_trader):
            step_up(member)
            assert call(member, f"/v1/trades/{third}/sign").status_code == 200
        with e.world.ctx.sessions() as session:
            last = session.scalar(select(func.max(AuditEntry.sequence)))
        wait_for(store.cursor, lambda cursor: cursor >= (last or 0), timeout=30)
    assert lapsed["subject"] == org and lapsed["severity"] == "high" and "expired" in lapsed["reason"]
    assert [t["trade_id"] for t in lapsed["evidence"]["trades"]] == [first]
    assert officer.get(f"/v1/surveillance/cases/{lapsed['case_id']}").json()["status"] == "open"
    assert failures["subject"] == org and "custody.refused" in failures["reason"]
    rows = officer.get("/v1/surveillance/alerts").json()["data"]
    assert [a for a in rows if a["detector"] == "kyc_lapsed" and third in a["reason"]] == []  # renewed


def test_a_changed_sanctions_list_naming_a_wallet_raises_an_alert(
    env: tuple[Env, Member, Path], tmp_path: Path
) -> None:
    """B has applied; the list changes to name B's wallet: the gateway's maintenance pass (run here as its loop
    runs it) re-screens everyone, and the service alerts the hit, high, with the list entry."""
    e, officer, config = env
    b_approver = e.world.user("b", Role.APPROVER, "bapprover")
    assert b_approver.post("/v1/kyc/applications", json=application_body(e.world, "b")).status_code == 201
    listed = tmp_path / "sanctions.csv"
    listed.write_text(SANCTIONS_CSV + f"SDN-77,Cold Holder,{e.b_wallet['address']},TEST,RU\n")
    e.world.ctx.settings.sanctions_file = listed
    assert reload_if_changed(e.world.ctx)
    with e.world.ctx.sessions() as session:
        rescreened = rescreen_if_changed(e.world.ctx, session)
    assert rescreened is not None and rescreened.hits >= 1
    with service(e, config, tmp_path / "state.db"):
        found = alert(officer, "sanctions_rescreen", lambda a: "SDN-77" in a["reason"])
    assert found["subject"] == str(e.world.orgs["b"]) and found["severity"] == "high"
