"""Events leave the gateway in the API's units, whichever way they go (timeline, WebSocket stream, webhooks):
amounts as decimal strings in their asset's units with the asset named, rates as fractions with the unit in the
name, times in UTC ISO 8601, integers above 2^53 as strings. (Before, the chain's smallest units, 1e18-scaled
rates and Unix seconds went out as they came in.) Names are the REST bodies' snake_case, not the contract's
camelCase."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address

from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.events.bus import EventBus
from gateway.indexer import wire
from gateway.indexer.tail import EventTail
from gateway.settlement_records.models import RepoEvent, RepoRecord
from gateway.trading.models import Instrument

SELLER, HOLDER = uuid.uuid4(), uuid.uuid4()
CASH, GILT, BUND = "0x" + "c0" * 20, "0x" + "b0" * 20, "0x" + "b1" * 20
WALLET = "0x" + "11" * 20
MATURITY = 1_800_000_000


def record() -> RepoRecord:
    return RepoRecord(
        repo_id=7, seller=WALLET, buyer=WALLET, holder=WALLET, seller_org_id=SELLER, holder_org_id=HOLDER,
        cash_token=CASH, collateral_token=GILT, collateral_amount="1000", purchase_price="1000000000000",
        rate=str(35 * 10**15), day_count_basis=360, haircut_bps=200, status="open", opened_at=0, maturity=MATURITY,
        period_start=0,
    )  # fmt: skip


def event(log_index: int, name: str, args: dict[str, Any]) -> RepoEvent:
    return RepoEvent(
        repo_id=7, name=name, args={"repoId": "7", **args}, block_number=3, block_hash="0x" + "ab" * 32,
        block_time=MATURITY - 86_400, log_index=log_index, tx_hash="0x" + "cd" * 32,
    )  # fmt: skip


EVENTS = [
    event(0, "RepoOpened", {
        "seller": WALLET, "buyer": WALLET, "termsHash": "0x" + "ee" * 32, "cashToken": CASH,
        "purchasePrice": "1000000500000", "collateralToken": GILT, "collateralAmount": "1000",
        "rate": str(-5 * 10**15), "maturity": "0",
    }),
    event(1, "MarginCalled", {"caller": WALLET, "amount": "2500000", "cureDeadline": str(MATURITY)}),
    event(2, "RepoRerated", {"oldRate": str(35 * 10**15), "newRate": str(4 * 10**16), "crystallizedPD": "1234"}),
    event(3, "CollateralSubstituted", {"oldToken": GILT, "oldAmount": "1000", "newToken": BUND, "newAmount": "500"}),
    event(4, "NonceCancelled", {"signer": WALLET, "nonce": str(3 * 10**38)}),
    event(5, "MarginPosted", {"collateralAmount": "250", "cashAmount": "0", "outstandingCall": "0"}),
]  # fmt: skip


def check(published: list[dict[str, Any]]) -> None:
    opened, called, rerated, substituted, cancelled, posted = (e["data"] for e in published)
    assert opened["purchase_price"] == "1000000.500000" and opened["cash_token"] == to_checksum_address(CASH)
    assert opened["collateral_amount"] == "1000" and opened["collateral_token"] == to_checksum_address(GILT)
    assert opened["rate_fraction"] == "-0.005" and "rate" not in opened
    assert opened["maturity"] is None  # an open repo
    assert (
        called["amount"] == "2.500000"
        and called["cash_token"] == to_checksum_address(CASH)
        and "collateral_token" not in called
    )
    assert called["cure_deadline"] == "2027-01-15T08:00:00Z"
    assert (rerated["old_rate_fraction"], rerated["new_rate_fraction"]) == ("0.035", "0.04")
    assert rerated["crystallized_pd"] == "0.001234"
    assert substituted["old_amount"] == "1000" and substituted["new_amount"] == "5.00"  # each in its own token
    assert cancelled["nonce"] == str(3 * 10**38) and cancelled["repo_id"] == 7  # above 2^53: a string
    # collateral posted after the substitution is in the new token, whatever the repo holds when it is read
    assert posted["collateral_token"] == to_checksum_address(BUND) and posted["collateral_amount"] == "2.50"


def test_stream_and_webhook_events_carry_the_api_units(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    writes = make_session_factory(make_engine(url))
    reads = make_session_factory(make_engine(url, read_only=True))
    with writes() as session:
        session.add_all([
            Instrument(address=CASH, kind="cash", symbol="USDT", name="Cash", decimals=6),
            Instrument(address=GILT, kind="bond", symbol="GILT", name="Gilt", decimals=0),
            Instrument(address=BUND, kind="bond", symbol="BUND", name="Bund", decimals=2),
            record(),
        ])  # fmt: skip
        session.commit()

    async def scenario() -> list[dict[str, Any]]:
        bus = EventBus()
        _, seller = bus.subscribe(SELLER)
        tail = EventTail(reads, bus)
        with writes() as session:
            session.add_all(EVENTS)
            session.commit()
        assert tail.run_once() == len(EVENTS)
        await asyncio.sleep(0)
        return [seller.get_nowait() for _ in range(seller.qsize())]

    check(asyncio.run(scenario()))
    with reads() as session:  # the timeline of GET /v1/repos/{id} goes through the same door
        units = wire.EventUnits(session)
        rows = session.query(RepoEvent).order_by(RepoEvent.log_index).all()
        timeline = [wire.public(row, units) for row in rows]
    check(timeline)
    assert all(wire.EventPublic.model_validate(e) for e in timeline)


def test_a_token_the_gateway_does_not_list_says_smallest_units_in_the_name() -> None:
    class NoListings(wire.EventUnits):
        def __init__(self) -> None:
            pass

        def decimals(self, token: str) -> int | None:
            return None

    data = wire.convert({"amount": "2500000"}, CASH, GILT, NoListings())
    assert data == {"cash_token": CASH, "amount_units": "2500000"}


def test_event_data_names_are_snake_case_like_the_rest_bodies() -> None:
    class Listed(wire.EventUnits):
        def __init__(self) -> None:
            pass

        def decimals(self, token: str) -> int | None:
            return 6

    for e in EVENTS:
        data = wire.convert(dict(e.args), CASH, GILT, Listed())
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in data), data
