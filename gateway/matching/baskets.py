"""GC baskets: the operator lists one (bonds the gateway trades, their haircuts, a cash token, the standard terms);
orders sign its hash, so a listed basket never changes: a new basket takes a new id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from contracts.gc import GcBasket, GcBond
from gateway.db import audit_log
from gateway.exceptions import Conflict, InvalidRequest, NotFound
from gateway.matching.models import GcBasketRow
from gateway.matching.schemas import GcBasketCreate
from gateway.trading.models import Instrument, InstrumentKind


def create_basket(session: Session, *, actor: str, body: GcBasketCreate) -> GcBasketRow:
    """List a basket (the caller commits); 409 if the id is taken, 422 for a token the gateway does not trade."""
    if session.get(GcBasketRow, body.basket_id) is not None:
        raise Conflict(f"basket {body.basket_id} exists: a listed basket never changes, list a new one")
    cash = _require_kind(session, body.cash_token, InstrumentKind.CASH)
    tokens = [bond.token.lower() for bond in body.bonds]
    if len(set(tokens)) != len(tokens):
        raise InvalidRequest("a bond appears twice in the basket")
    for bond in body.bonds:
        listed = _require_kind(session, bond.token, InstrumentKind.BOND)
        if listed.currency is not None and cash.currency is not None and listed.currency != cash.currency:
            # the GC extension values collateral in the cash token without the engine's FX haircut
            raise InvalidRequest(
                f"{bond.token} is priced in {listed.currency}, not {cash.currency}: not in a GC basket"
            )
    basket = GcBasket(
        day_count_basis=body.day_count_basis,
        min_transfer_amount=int(body.min_transfer_amount),
        margin_cure_period=body.margin_cure_period_seconds,
        grace_period=body.grace_period_seconds,
        bonds=tuple(GcBond(Web3.to_checksum_address(b.token), b.haircut_bps) for b in body.bonds),
    )
    row = GcBasketRow(
        basket_id=body.basket_id,
        cash_token=Web3.to_checksum_address(body.cash_token),
        day_count_basis=basket.day_count_basis,
        min_transfer_amount=str(basket.min_transfer_amount),
        margin_cure_period=basket.margin_cure_period,
        grace_period=basket.grace_period,
        bonds=[{"token": b.token, "haircut_bps": b.haircut_bps} for b in basket.bonds],
        basket_hash="0x" + basket.hash().hex(),
        created_by=actor,
    )
    session.add(row)
    audit_log.append(
        session,
        actor=actor,
        action="gc.basket.listed",
        object_type="gc_basket",
        object_id=row.basket_id,
        change={"cash_token": row.cash_token, "bonds": row.bonds, "basket_hash": row.basket_hash},
    )
    return row


def _require_kind(session: Session, token: str, kind: InstrumentKind) -> Instrument:
    instrument = session.get(Instrument, token.lower())
    if instrument is None or instrument.kind != kind.value:
        raise InvalidRequest(f"{token} is not a {kind.value} token the gateway lists")
    return instrument


def load_basket(session: Session, basket_id: str) -> GcBasketRow:
    row = session.get(GcBasketRow, basket_id)
    if row is None:
        raise NotFound(f"no GC basket {basket_id}")
    return row


def as_basket(row: GcBasketRow) -> GcBasket:
    """The row as the contract's basket (its hash is what orders sign)."""
    return GcBasket(
        day_count_basis=row.day_count_basis,
        min_transfer_amount=int(row.min_transfer_amount),
        margin_cure_period=row.margin_cure_period,
        grace_period=row.grace_period,
        bonds=tuple(GcBond(str(b["token"]), int(b["haircut_bps"])) for b in row.bonds),
    )


def all_baskets(session: Session) -> list[GcBasketRow]:
    return list(session.scalars(select(GcBasketRow).order_by(GcBasketRow.basket_id)))
