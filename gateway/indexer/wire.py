"""A chain event as clients see it, on the timeline, the WebSocket stream and webhooks alike.

The chain speaks smallest units, 1e18-scaled rates and Unix seconds; the API speaks decimal strings in the asset's
units, rates as fractions (``rate_fraction``: ``"0.035"`` is 3.5 % a year) and UTC ISO 8601 times. The conversion
happens here, once, so the three ways out cannot disagree. Names are the REST bodies' convention too: the
contract's argument names in snake_case (``purchasePrice`` -> ``purchase_price``, ``crystallizedPD`` ->
``crystallized_pd``). Each amount names its asset: cash amounts are in ``cash_token``, collateral amounts in
``collateral_token`` (added to an event that carries such an amount: the collateral held when the event happened,
not after a later substitution), a substitution's ``old_amount`` in ``old_token`` and ``new_amount`` in
``new_token``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.addresses import checksummed
from gateway.settlement_records.models import RepoEvent, RepoRecord
from gateway.trading import money, units

MAX_SAFE_INTEGER = 2**53 - 1  # JSON.parse keeps integers up to here exactly


class Unit(Enum):
    CASH = "cash"
    COLLATERAL = "collateral"
    OLD_ASSET = "old-asset"
    NEW_ASSET = "new-asset"
    EVENT_ASSET = "event-asset"  # an amount in the event's own ``token`` (a claim: cash or collateral)
    RATE = "rate"
    TIME = "time"
    TIME_OR_NONE = "time-or-none"  # 0 means none (an open repo's maturity)


# every event argument that carries a unit; the others (addresses, hashes, flags, small enums) pass as they are
UNITS: dict[str, Unit] = {
    "purchasePrice": Unit.CASH,
    "repurchasePrice": Unit.CASH,
    "cashMarginApplied": Unit.CASH,
    "amount": Unit.CASH,
    "cashAmount": Unit.CASH,
    "outstandingCall": Unit.CASH,
    "owed": Unit.CASH,
    "remaining": Unit.CASH,  # a shortfall is in the repo's cash token
    "waived": Unit.CASH,
    "crystallizedPD": Unit.CASH,
    "collateralAmount": Unit.COLLATERAL,
    "collateralReturned": Unit.COLLATERAL,
    "collateralToHolder": Unit.COLLATERAL,
    "collateralToSeller": Unit.COLLATERAL,
    "oldAmount": Unit.OLD_ASSET,
    "newAmount": Unit.NEW_ASSET,
    "rate": Unit.RATE,
    "oldRate": Unit.RATE,
    "newRate": Unit.RATE,
    "maturity": Unit.TIME_OR_NONE,
    "oldMaturity": Unit.TIME_OR_NONE,
    "newMaturity": Unit.TIME_OR_NONE,
    "cureDeadline": Unit.TIME,
}
RATE_SUFFIX = "Fraction"  # rate -> rateFraction (rate_fraction): the unit in the field's name
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """A contract argument's name as the REST bodies spell theirs: ``cureDeadline`` -> ``cure_deadline``."""
    return _WORD_START.sub("_", name).lower()


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


class EventUnits:
    """Decimals of listed tokens and each repo's tokens, looked up once per session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._decimals: dict[str, int | None] = {}
        self._tokens: dict[int, tuple[str, str] | None] = {}

    def decimals(self, token: str) -> int | None:
        key = token.lower()
        if key not in self._decimals:
            self._decimals[key] = units.decimals(self.session, key)
        return self._decimals[key]

    def tokens(self, repo_id: int) -> tuple[str, str] | None:
        if repo_id not in self._tokens:
            row = self.session.get(RepoRecord, repo_id)
            self._tokens[repo_id] = None if row is None else (row.cash_token, row.collateral_token)
        return self._tokens[repo_id]

    def collateral_at(self, event: RepoEvent) -> str | None:
        """The collateral the repo held when ``event`` happened: the last substitution's new token before it, else
        the open's; the repo's current collateral if neither was indexed."""
        before = or_(
            RepoEvent.block_number < event.block_number,
            and_(RepoEvent.block_number == event.block_number, RepoEvent.log_index < event.log_index),
        )
        last = self.session.scalars(
            select(RepoEvent)
            .where(RepoEvent.repo_id == event.repo_id, RepoEvent.name.in_(_COLLATERAL_SET_BY), before)
            .order_by(RepoEvent.block_number.desc(), RepoEvent.log_index.desc())
            .limit(1)
        ).first()
        if last is not None:
            return str(last.args.get(_COLLATERAL_SET_BY[last.name]))
        known = self.tokens(event.repo_id) if event.repo_id is not None else None
        return known[1] if known else None


# the events that set which collateral a repo holds, and the argument naming it
_COLLATERAL_SET_BY = {"RepoOpened": "collateralToken", "CollateralSubstituted": "newToken"}


def _integer(raw: object) -> object:
    """Small integers stay numbers; above 2^53 they stay strings (as the chain decoder gave them)."""
    if isinstance(raw, str) and raw.lstrip("-").isdigit():
        value = int(raw)
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    return raw


def _unit(name: str, args: dict[str, Any]) -> Unit | None:
    """The unit of argument ``name``: a cash amount of an event that names its ``token`` is in that token."""
    unit = UNITS.get(name)
    return Unit.EVENT_ASSET if unit is Unit.CASH and "token" in args else unit


def convert(args: dict[str, Any], cash: str | None, collateral: str | None, units: EventUnits) -> dict[str, Any]:
    """Event arguments in the API's units and names (see the module's docstring)."""
    return {snake(name): value for name, value in _in_api_units(args, cash, collateral, units).items()}


def _in_api_units(args: dict[str, Any], cash: str | None, collateral: str | None, units: EventUnits) -> dict[str, Any]:
    token_of: dict[Unit, str | None] = {
        Unit.CASH: cash,
        Unit.COLLATERAL: collateral,
        Unit.OLD_ASSET: args.get("oldToken"),
        Unit.NEW_ASSET: args.get("newToken"),
        Unit.EVENT_ASSET: args.get("token"),
    }
    out: dict[str, Any] = {}
    needs = {_unit(name, args) for name in args}
    if cash is not None and Unit.CASH in needs:
        out["cashToken"] = cash
    if collateral is not None and Unit.COLLATERAL in needs:
        out["collateralToken"] = collateral
    for name, raw in args.items():
        unit = _unit(name, args)
        if unit is None or not isinstance(raw, str):
            out.setdefault(name, _integer(raw))
            continue
        value = int(raw)
        if unit is Unit.RATE:
            out[name + RATE_SUFFIX] = money.wad_to_rate(value)
        elif unit is Unit.TIME:
            out[name] = iso(value)
        elif unit is Unit.TIME_OR_NONE:
            out[name] = iso(value) if value else None
        else:
            token = token_of[unit]
            decimals = None if token is None else units.decimals(token)
            # a token the gateway does not list has no known decimals: smallest units, said so in the name
            out[name if decimals is not None else name + "Units"] = (
                money.from_units(value, decimals) if decimals is not None else str(value)
            )
    return out


def public(event: RepoEvent, units: EventUnits) -> dict[str, Any]:
    """The event as the timeline, the stream and webhooks carry it."""
    args: dict[str, Any] = dict(event.args)
    known = units.tokens(event.repo_id) if event.repo_id is not None else None
    cash = args.get("cashToken") or (known[0] if known else None)
    collateral = args.get("collateralToken")
    if collateral is None and any(UNITS.get(name) is Unit.COLLATERAL for name in args):
        collateral = units.collateral_at(event)
    return {
        "id": event.id,
        "type": f"repo.{event.name}",
        "repo_id": event.repo_id,
        "data": checksummed(convert(args, cash, collateral, units)),
        "block_number": event.block_number,
        "tx_hash": event.tx_hash,
        "log_index": event.log_index,
        "at": iso(event.block_time),
    }


class EventPublic(BaseModel):
    """A repo event: ``type`` is ``repo.<ContractEventName>``; ``data`` holds its arguments in the API's units."""

    id: int
    type: str
    repo_id: int | None
    data: dict[str, str | int | bool | None]
    block_number: int
    tx_hash: str
    log_index: int
    at: datetime
