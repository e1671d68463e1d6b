"""The engine's claim ledger as the indexer follows it (``engine_claims``), and claim and shortfall events in the
API's units: a claim's amount is in the claim's own token (collateral credited to a frozen seller is in the bond's
units, not the repo's cash token's); a shortfall's ``remaining`` in the repo's cash token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.indexer import claims, wire
from gateway.indexer.models import EngineClaim
from gateway.settlement_records.models import RepoEvent, RepoRecord
from gateway.trading.models import Instrument

CASH, BOND = "0x" + "c0" * 20, "0x" + "b0" * 20
PARTY = "0x" + "1a" * 20


def _event(index: int, name: str, args: dict[str, Any], repo_id: int | None = 7) -> RepoEvent:
    return RepoEvent(
        repo_id=repo_id, name=name, args=args, block_number=10 + index, block_hash="0x" + "ab" * 32,
        block_time=0, log_index=index, tx_hash="0x" + "cd" * 32,
    )  # fmt: skip


def _sessions(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    return make_session_factory(make_engine(url))


def test_credits_add_up_and_a_payment_or_court_order_clears(tmp_path: Path) -> None:
    sessions = _sessions(tmp_path)
    with sessions() as session:
        credit = {"party": PARTY, "token": BOND, "repoId": "7", "amount": "300"}
        claims.apply(session, _event(0, "ClaimCredited", credit))
        claims.apply(session, _event(1, "ClaimCredited", {**credit, "amount": "200"}))
        claims.apply(session, _event(2, "ClaimCredited", {**credit, "token": CASH, "amount": "5"}))
        rows = {(r.party, r.token): (r.amount, r.updated_block) for r in session.query(EngineClaim)}
        party = next(iter(rows))[0]
        assert party != PARTY and party.lower() == PARTY  # checksummed, as wallets are stored
        assert rows == {(party, BOND): ("500", 11), (party, CASH): ("5", 12)}
        claims.apply(session, _event(3, "ClaimPaid", {"party": PARTY, "token": BOND, "amount": "500"}, None))
        forced = {"party": PARTY, "token": CASH, "to": "0x" + "22" * 20, "amount": "5", "orderRef": "0x01"}
        claims.apply(session, _event(4, "ClaimForced", forced, None))
        assert session.query(EngineClaim).count() == 0


def test_a_claim_taken_while_its_seller_still_owes_comes_back_as_what_its_shortfalls_left(tmp_path: Path) -> None:
    # RepoEngine.claim pays the caller's close-out shortfalls first, at most 16 a call: while some remain it emits
    # ClaimPaid with 0 (the whole claim was taken) and credits back what is left.
    sessions = _sessions(tmp_path)
    with sessions() as session:
        claims.apply(
            session, _event(0, "ClaimCredited", {"party": PARTY, "token": CASH, "repoId": "7", "amount": "1000"})
        )
        claims.apply(session, _event(1, "ClaimPaid", {"party": PARTY, "token": CASH, "amount": "0"}, None))
        claims.apply(
            session, _event(2, "ClaimCredited", {"party": PARTY, "token": CASH, "repoId": "0", "amount": "400"})
        )
        assert [(r.amount, r.updated_block) for r in session.query(EngineClaim)] == [("400", 12)]


def test_claim_and_shortfall_amounts_in_their_own_units(tmp_path: Path) -> None:
    sessions = _sessions(tmp_path)
    with sessions() as session:
        session.add_all([
            Instrument(address=CASH, kind="cash", symbol="rEUR", name="Cash", decimals=6),
            Instrument(address=BOND, kind="bond", symbol="GOV", name="Gov", decimals=2),
            RepoRecord(
                repo_id=7, seller=PARTY, buyer=PARTY, holder=PARTY, cash_token=CASH, collateral_token=BOND,
                collateral_amount="0", purchase_price="1", rate="0", day_count_basis=360, haircut_bps=0,
                status="closed_out", opened_at=0, maturity=0, period_start=0,
            ),
        ])  # fmt: skip
        session.commit()
        units = wire.EventUnits(session)
        credited = wire.public(
            _event(0, "ClaimCredited", {"party": PARTY, "token": BOND, "repoId": "7", "amount": "12345"}), units
        )
        assert credited["data"]["amount"] == "123.45" and "cash_token" not in credited["data"]
        collected = wire.public(
            _event(1, "ShortfallCollected", {"repoId": "7", "creditor": PARTY, "amount": "1500000", "remaining": "0"}),
            units,
        )
        assert collected["data"]["amount"] == "1.500000" and collected["data"]["remaining"] == "0.000000"
        assert collected["data"]["cash_token"].lower() == CASH
        settled = wire.public(_event(2, "ShortfallSettled", {"repoId": "7", "waived": "2500000"}), units)
        assert settled["data"]["waived"] == "2.500000"
