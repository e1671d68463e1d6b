"""Terms nonces are given out in sequence per wallet (``gateway.trading.nonces``): a wallet's opens share a word of
the engine's nonce bitmap, and no two trades ever get the same nonce."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from gateway.db.session import make_engine, make_session_factory
from gateway.trading.models import TermsNonce
from gateway.trading.nonces import next_terms_nonce

A, B, C = "0x" + "aa" * 20, "0x" + "bB" * 20, "0x" + "cc" * 20


def _take(session: Session, seller: str, buyer: str) -> int:
    nonce = next_terms_nonce(session, seller=seller, buyer=buyer)
    session.commit()
    return nonce


def test_a_pair_takes_consecutive_nonces_within_one_bitmap_word(any_db_url: str) -> None:
    sessions = make_session_factory(make_engine(any_db_url))
    with sessions() as session:
        taken = [_take(session, A, B) for _ in range(5)]
        first = taken[0]
        assert first % 256 == 0 and first < 2**62  # a fresh wallet starts at a word of its own
        assert taken == list(range(first, first + 5))
        row = session.get(TermsNonce, B.lower())
        assert row is not None and row.next_nonce == first + 5  # stored by the lower-case address


def test_a_wallet_joining_a_pair_moves_past_both(any_db_url: str) -> None:
    sessions = make_session_factory(make_engine(any_db_url))
    with sessions() as session:
        ab = _take(session, A, B)
        ac = _take(session, C, A)
        assert ac > ab  # never below what A was given: A's nonces only grow
        assert _take(session, B, C) > ac  # B catches up with C (a Lamport clock of the pair)


def test_concurrent_trades_never_share_a_nonce(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    taken: list[int] = []
    errors: list[BaseException] = []

    def trades() -> None:
        try:
            for _ in range(10):
                with sessions() as session:
                    taken.append(_take(session, A, B))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=trades) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(taken) == 40 and len(set(taken)) == 40
