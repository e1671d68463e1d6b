"""A listed token's decimals and maturity are read from its row once per process; an unlisted token's absence is
not remembered (it may be listed next)."""

from __future__ import annotations

from sqlalchemy import create_engine, delete
from sqlalchemy.orm import Session

from gateway.trading import units
from gateway.trading.models import Instrument, InstrumentKind

BOND = "0x" + "b" * 40
CASH = "0x" + "c" * 40


def test_decimals_and_maturity_are_read_once_and_absence_is_not_remembered(db_url: str) -> None:
    engine = create_engine(db_url)
    with Session(engine) as session:
        assert units.decimals(session, BOND) is None and units.known_maturity(session, BOND) is None
        session.add(Instrument(address=BOND, kind=InstrumentKind.BOND.value, symbol="B", name="B", decimals=4))
        session.add(Instrument(address=CASH, kind=InstrumentKind.CASH.value, symbol="C", name="C", decimals=6))
        session.commit()
        assert units.decimals(session, BOND.upper().replace("0X", "0x")) == 4  # listed since: found
        assert units.known_maturity(session, BOND) is None  # a bond whose maturity is not read yet
        assert units.known_maturity(session, CASH) == 0  # cash never matures
        session.get_one(Instrument, BOND).maturity = 2_000_000_000
        session.commit()
        assert units.known_maturity(session, BOND) == 2_000_000_000
        session.execute(delete(Instrument))
        session.commit()
        session.expunge_all()
        # remembered: the rows are not read again
        assert units.decimals(session, BOND) == 4 and units.decimals(session, CASH) == 6
        assert units.known_maturity(session, BOND) == 2_000_000_000
    units.forget()
    with Session(engine) as session:
        assert units.decimals(session, BOND) is None
    engine.dispose()
