"""/v1/positions, /v1/repos/{id} with its event timeline, /v1/balances, reconcile on demand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from gateway.addresses import Address
from gateway.api.deps import ContextDep, CurrentPrincipal, PageQuery, SessionDep, read_view
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.chain.bindings.engine import RepoStatus
from gateway.db import pages
from gateway.db.models import Wallet
from gateway.exceptions import NotFound
from gateway.indexer import wire
from gateway.indexer.models import WalletBalance
from gateway.indexer.prices import indexed_price
from gateway.positions import accrual
from gateway.settlement.hub import Hub, HubDep
from gateway.settlement.schemas import RepoIdPath
from gateway.settlement_records import freshness
from gateway.settlement_records.models import RepoEvent, RepoRecord
from gateway.trading import maturity, money, units
from gateway.trading.models import Instrument
from gateway.trading.schemas import rate_fraction

router = APIRouter(tags=["positions"], responses=problem_responses(401, 403, 404, 409, 422, 429))
MinBlock = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**63 - 1,
        description="answer only once the indexed tables reflect at least this block (a settlement's final "
        "block): waits up to 5 s, else 409 block-not-indexed",
    ),
]


def _as_of(response: Response, block: int | None) -> int | None:
    if block is not None:
        response.headers[freshness.HEADER] = str(block)
    return block


class PositionPublic(BaseModel):
    repo_id: int
    role: str  # seller | holder
    status: str
    seller: Address
    holder: Address
    cash_token: Address
    collateral_token: Address
    purchase_price: str
    rate: str = rate_fraction()
    opened_at: datetime
    maturity: datetime | None
    collateral_amount: str  # in escrow; for a closed repo what was in escrow when it closed
    cash_margin: str
    repurchase_price_now: str  # for a closed repo: the repurchase price paid (or owed at close-out), frozen
    repurchase_price_paid: str | None  # repurchased: RP paid; closed out: RP owed at close-out; else None
    collateral_value: str | None
    collateral_value_after_haircut: str | None
    exposure: str | None
    margin_status: str | None
    shortfall: str
    collateral_maturity: datetime | None = Field(
        description="the collateral bond's final maturity (null: none, or not known yet)"
    )
    substitution_needed: bool = Field(
        description="live, and the collateral matures within the warning window (collateral_maturity_warning_days) "
        "or before the repo: the engine does not redeem escrowed bonds, so the seller must substitute"
    )
    as_of: datetime
    updated_block: int  # the block of the last event applied to this repo


class PositionsPublic(BaseModel):
    data: list[PositionPublic]
    next_cursor: str | None
    as_of_block: int | None  # every engine event up to this block is applied (None: nothing indexed yet)


class RepoDetail(BaseModel):
    position: PositionPublic
    timeline: list[wire.EventPublic]
    as_of_block: int | None


class Difference(BaseModel):
    db: str | int | None
    chain: str | int | None


class RepoDifferences(BaseModel):
    repo_id: int
    changes: dict[str, Difference]


class ReconcilePublic(BaseModel):
    """What the database had differently from the chain (now corrected); empty when they agreed."""

    differences: list[RepoDifferences]


class BalancePublic(BaseModel):
    wallet: Address
    token: Address
    symbol: str
    balance: str | None  # in the token's units; null until the balance follower has read the pair
    block: int | None  # the block the balance reflects


class BalancesPublic(BaseModel):
    """Every wallet of the organization in every listed instrument, on one page (``next_cursor`` is null)."""

    data: list[BalancePublic]
    next_cursor: str | None = None


def _ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _decimals(session: SessionDep, token: str, cache: dict[str, int]) -> int:
    key = token.lower()
    if key not in cache:
        cache[key] = units.decimals(session, key) or 0
    return cache[key]


CLOSING_EVENTS = ("RepoRepurchased", "RepoClosedOut")


def closings(session: SessionDep, rows: list[RepoRecord]) -> dict[int, RepoEvent]:
    """The event that closed each closed repo of ``rows`` (what was paid and returned), in one query."""
    closed = [r.repo_id for r in rows if r.status in ("repurchased", "closed_out")]
    if not closed:
        return {}
    query = select(RepoEvent).where(RepoEvent.repo_id.in_(closed), RepoEvent.name.in_(CLOSING_EVENTS))
    return {int(e.repo_id): e for e in session.scalars(query) if e.repo_id is not None}


def position(
    session: SessionDep,
    r: RepoRecord,
    org: uuid.UUID,
    now: int,
    decimals: dict[str, int],
    prices: dict[tuple[str, str], int | None] | None,
    closing: RepoEvent | None = None,
    *,
    hub: Hub | None = None,
    warning_days: int = 7,
) -> PositionPublic:
    """``r`` as ``org`` sees it at ``now``; valued at the followed oracle price (gateway.indexer.prices) unless
    ``prices`` is None."""
    cash_dec = _decimals(session, r.cash_token, decimals)
    bond_dec = _decimals(session, r.collateral_token, decimals)
    rp = int(r.purchase_price)
    collateral = int(r.collateral_amount)
    paid: int | None = None
    if closing is not None:  # the engine zeroes a closed repo's amounts: its closing event keeps them
        args = closing.args
        if closing.name == "RepoRepurchased":
            paid = int(args["repurchasePrice"])
            collateral = int(args["collateralReturned"])
        else:
            paid = int(args["owed"])
            collateral = int(args["collateralToHolder"]) + int(args["collateralToSeller"])
        rp = paid
    if RepoStatus(r.status).live:
        rp = accrual.repurchase_price(
            purchase_price=int(r.purchase_price),
            rate=int(r.rate),
            basis=r.day_count_basis,
            period_start=r.period_start,
            maturity=r.maturity,
            crystallized_pd=int(r.crystallized_pd),
            at=now,
        )
    price = None
    if prices is not None:
        pair = (r.collateral_token.lower(), r.cash_token.lower())
        if pair not in prices:
            prices[pair] = indexed_price(session, pair[0], pair[1], now)
        price = prices[pair]
    value = adjusted = exposure = None
    status = None
    if price is not None:
        value = accrual.market_value(collateral, price)
        adjusted = accrual.haircut_value(value, r.haircut_bps)
        exposure = rp - adjusted - int(r.cash_margin)
        status = accrual.margin_status(status=r.status, exposure=exposure, threshold=int(r.min_transfer_amount))
    matures = maturity.flag(
        live=RepoStatus(r.status).live,
        collateral_maturity=maturity.bond_maturity(session, hub, r.collateral_token),
        repo_maturity=r.maturity,
        now=now,
        warning_days=warning_days,
    )
    return PositionPublic(
        repo_id=r.repo_id,
        role="seller" if r.seller_org_id == org else "holder",
        status=r.status,
        seller=r.seller,
        holder=r.holder,
        cash_token=r.cash_token,
        collateral_token=r.collateral_token,
        purchase_price=money.from_units(int(r.purchase_price), cash_dec),
        rate=money.wad_to_rate(int(r.rate)),
        opened_at=_ts(r.opened_at),
        maturity=_ts(r.maturity) if r.maturity else None,
        collateral_amount=money.from_units(collateral, bond_dec),
        cash_margin=money.from_units(int(r.cash_margin), cash_dec),
        repurchase_price_now=money.from_units(rp, cash_dec),
        repurchase_price_paid=None if paid is None else money.from_units(paid, cash_dec),
        collateral_value=None if value is None else money.from_units(value, cash_dec),
        collateral_value_after_haircut=None if adjusted is None else money.from_units(adjusted, cash_dec),
        exposure=None if exposure is None else money.from_units(exposure, cash_dec),
        margin_status=status,
        shortfall=money.from_units(int(r.shortfall), cash_dec),
        collateral_maturity=_ts(matures.collateral_maturity) if matures.collateral_maturity else None,
        substitution_needed=matures.substitution_needed,
        as_of=_ts(now),
        updated_block=int(r.updated_block),
    )


@router.get("/positions", response_model=PositionsPublic, status_code=200)
def list_positions(
    principal: ReposRead,
    session: SessionDep,
    hub: HubDep,
    ctx: ContextDep,
    response: Response,
    page: PageQuery,
    min_block: MinBlock = None,
    status: str | None = None,
    role: str | None = None,
    live: bool = False,
) -> PositionsPublic:
    """The organization's repos (as seller or holder), newest first unless ``order=oldest``, in the one list shape
    (``{data, next_cursor}``, the cursor opaque), with RP accrued to now; ``live=true`` adds
    collateral value, exposure and margin status at the oracle's price. ``as_of_block`` (and the
    X-Reponet-Block header) is the block the answer reflects."""
    block = freshness.require_block(session, ctx.read_sessions, min_block)
    org = principal.organization_id
    query = select(RepoRecord)
    if role == "seller":
        query = query.where(RepoRecord.seller_org_id == org)
    elif role == "holder":
        query = query.where(RepoRecord.holder_org_id == org)
    else:
        query = query.where(or_(RepoRecord.seller_org_id == org, RepoRecord.holder_org_id == org))
    if status:
        query = query.where(RepoRecord.status == status)
    query = pages.keyset(query, page, RepoRecord.repo_id)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda r: (r.repo_id,))
    now = hub.now() if live else int(datetime.now(UTC).timestamp())
    decimals: dict[str, int] = {}
    prices: dict[tuple[str, str], int | None] | None = {} if live and hub.market is not None else None
    closed = closings(session, rows)
    days = ctx.settings.collateral_maturity_warning_days
    data = [
        position(session, r, org, now, decimals, prices, closed.get(r.repo_id), hub=hub, warning_days=days)
        for r in rows
    ]
    return PositionsPublic(data=data, next_cursor=next_cursor, as_of_block=_as_of(response, block))


def _visible(session: SessionDep, repo_id: int, principal: CurrentPrincipal) -> RepoRecord:
    record = session.get(RepoRecord, repo_id)
    if record is None or not (
        principal.is_operator or principal.organization_id in (record.seller_org_id, record.holder_org_id)
    ):
        raise NotFound("repo not found")
    return record


@router.get("/repos/{repo_id}", response_model=RepoDetail, status_code=200)
def repo_detail(
    repo_id: RepoIdPath,
    principal: ReposRead,
    session: SessionDep,
    hub: HubDep,
    ctx: ContextDep,
    response: Response,
    min_block: MinBlock = None,
) -> RepoDetail:
    """The repo's state valued at the oracle's price as the price follower last read it (no chain call on the
    request path), and its event timeline as the indexer recorded it, as of ``as_of_block``."""
    block = freshness.require_block(session, ctx.read_sessions, min_block)
    record = _visible(session, repo_id, principal)
    from gateway.indexer.service import Indexer

    events = session.scalars(
        select(RepoEvent).where(RepoEvent.repo_id == repo_id).order_by(RepoEvent.block_number, RepoEvent.log_index)
    ).all()
    closing = closings(session, [record]).get(repo_id)
    prices: dict[tuple[str, str], int | None] | None = {} if hub.market is not None else None
    days = ctx.settings.collateral_maturity_warning_days
    pos = position(
        session, record, principal.organization_id, hub.now(), {}, prices, closing, hub=hub, warning_days=days
    )
    units = wire.EventUnits(session)
    return RepoDetail(
        position=pos,
        timeline=[wire.EventPublic.model_validate(Indexer.public(e, units)) for e in events],
        as_of_block=_as_of(response, block),
    )


@router.post("/repos/{repo_id}/reconcile", response_model=ReconcilePublic, status_code=200)
def reconcile(repo_id: RepoIdPath, principal: ReposRead, session: SessionDep, hub: HubDep) -> ReconcilePublic:
    """Re-read the repo from the chain; report what the database had differently."""
    _visible(session, repo_id, principal)
    indexer = hub.extra.get("indexer")
    from gateway.indexer.service import Indexer

    if not isinstance(indexer, Indexer):
        raise NotFound("no indexer running")
    session.commit()  # end this request's transaction: the indexer writes in its own (SQLite has one writer)
    return ReconcilePublic.model_validate({"differences": indexer.reconcile(repo_id)})


@router.get("/balances", response_model=BalancesPublic, status_code=200)
async def balances(principal: ReposRead, ctx: ContextDep, session: SessionDep) -> BalancesPublic:
    """Balances of every wallet of the organization in every listed instrument, from the balance follower's table
    (no chain call per request): each row says the block it reflects; ``balance`` is null until the follower has
    read a pair it has not seen yet (a wallet or an instrument added a moment ago). Three indexed queries, on the
    event loop where reads never wait (``read_view``)."""

    def view() -> BalancesPublic:
        org = principal.organization_id
        wallets = session.scalars(
            select(Wallet.address).where(Wallet.organization_id == org).order_by(Wallet.created_at)
        ).all()
        instruments = session.scalars(select(Instrument).order_by(Instrument.symbol)).all()
        rows = session.scalars(select(WalletBalance).where(WalletBalance.wallet.in_(wallets))).all() if wallets else []
        known = {(b.wallet, b.token): b for b in rows}
        data = []
        for wallet in wallets:
            for inst in instruments:
                row = known.get((wallet, inst.address.lower()))
                data.append(
                    BalancePublic(
                        wallet=wallet,
                        token=inst.address,
                        symbol=inst.symbol,
                        balance=None if row is None else money.from_units(int(row.units), inst.decimals),
                        block=None if row is None else row.block,
                    )
                )
        return BalancesPublic(data=data)

    return await read_view(ctx, view)
