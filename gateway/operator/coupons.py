"""Coupons (GMRA 5 manufactured payments), the issuer's side: set a bond's coupon schedule, and pay a repo's coupon
through the engine as the bond's paying agent; and, for the parties, what coupon a repo is owed next and how.

The issuer's policy: a schedule only on a listed bond that has none (the token takes it once), paid in a listed
cash token, dates ordered and within the bond's life; a coupon paid only once it is due, from the issuer's account
(a registry system account, so it can hold cash), funded by minting what its balance lacks against the money the
bond's issuer paid off chain. The engine passes the coupon on in the same transaction (to the seller, or off the
repurchase price when both parties elected so: ``POST /v1/repos/{id}/amendments`` kind ``coupon_election``)."""

from __future__ import annotations

from datetime import UTC, datetime

from eth_utils.address import to_checksum_address
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gateway.addresses import Address
from gateway.api.deps import ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.db import audit_log
from gateway.exceptions import InvalidRequest, NotFound
from gateway.settlement import service
from gateway.settlement.hub import HubDep
from gateway.settlement.schemas import RepoIdPath, SettlementPublic
from gateway.settlement.views import settlement_public
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading import money
from gateway.trading.deps import OperatorAdmin
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Instrument, InstrumentKind

router = APIRouter(tags=["operator"], responses=problem_responses(401, 403, 404, 409, 422, 429))
PERIODS = (1, 2, 4, 12)
REGISTRY_ABI = [
    {
        "type": "function",
        "name": "isSystemAccount",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]


class CouponDates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_date: datetime = Field(description="holders at the end of this instant are owed the coupon (UTC)")
    payment_date: datetime


class CouponSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bond: Address = Field(description="the listed bond")
    coupon_token: Address = Field(description="the listed cash token coupons are paid in")
    periods_per_year: int = Field(description="1, 2, 4 or 12: each coupon pays rate / periods of nominal")
    coupons: list[CouponDates] = Field(min_length=1, max_length=400)


class CouponOwedPublic(BaseModel):
    """The next coupon a repo's collateral is owed (none: ``index`` is null), and the parties' election."""

    repo_id: int
    bond: Address
    index: int | None
    record_date: datetime | None
    payment_date: datetime | None
    units_of_record: str = Field(description="the collateral units the coupon is owed on, in the bond's units")
    amount: str | None = Field(description="the coupon, in coupon_token's units")
    coupon_token: Address | None
    applied_to_repurchase_price: bool = Field(
        description="true: paid to the holder and deducted from the repurchase price; false: paid to the seller"
    )


def _bond(session: Session, address: str) -> Instrument:
    row = session.get(Instrument, address.lower())
    if row is None or row.kind != InstrumentKind.BOND.value:
        raise NotFound("bond not listed")
    return row


def validate_schedule(body: CouponSchedule, *, bond_maturity: int, now: int) -> tuple[list[int], list[int]]:
    """The issuer's policy on a schedule, flat, as the token checks it (and a little more: not in the past)."""
    if body.periods_per_year not in PERIODS:
        raise InvalidRequest(f"periods_per_year must be one of {PERIODS}")
    records = [int(c.record_date.timestamp()) for c in body.coupons]
    payments = [int(c.payment_date.timestamp()) for c in body.coupons]
    for i, (record, payment) in enumerate(zip(records, payments, strict=True)):
        if record > payment:
            raise InvalidRequest(f"coupon {i}: the record date is after the payment date")
        if i + 1 < len(records) and payment >= records[i + 1]:
            raise InvalidRequest(f"coupon {i}: paid at or after the next coupon's record date")
        if record < now:
            raise InvalidRequest(f"coupon {i}: the record date has passed")
    if bond_maturity and payments[-1] > bond_maturity:
        raise InvalidRequest("the last coupon is paid after the bond's maturity")
    return records, payments


@router.post("/operator/coupon-schedules", response_model=SettlementPublic, status_code=202)
def set_coupon_schedule(
    body: CouponSchedule, principal: OperatorAdmin, read: ReadSessionDep, session: SessionDep, hub: HubDep
) -> SettlementPublic:
    """The issuer sets a listed bond's coupon schedule (once: the token refuses a second). The instruments are
    looked up and the chain asked in the read session, before the write transaction opens."""
    bond = _bond(read, body.bond)
    coupon = read.get(Instrument, body.coupon_token.lower())
    if coupon is None or coupon.kind != InstrumentKind.CASH.value:
        raise InvalidRequest("coupon_token: not a listed cash token")
    market = hub.require_market()
    contract = market.token(bond.address)
    if int(market.view(contract, "couponCount")()):
        raise InvalidState("the bond's coupon schedule is already set")
    records, payments = validate_schedule(
        body, bond_maturity=int(market.view(contract, "maturity")()), now=market.now()
    )
    data = market.encode(
        contract, "setCouponSchedule", to_checksum_address(coupon.address), body.periods_per_year, records, payments
    )
    steps = [StepSpec(label="coupon_schedule", to=contract.address, data=data, sender=market.issuer.address)]
    read.rollback()
    return _queue(session, hub, principal.actor, "coupon_schedule", steps, object_id=bond.address, repo_id=None)


def _owed(hub: HubDep, repo_id: int) -> tuple[str, int, int, int, int, bool]:
    """(bond, index, record date, payment date, units, election) of the repo's next coupon."""
    market = hub.require_market()
    repo = service.read_repo(market, repo_id)
    index, record, payment, units, to_rp = market.view(market.engine, "couponOwed")(repo_id)
    return str(repo.state.collateral_token), int(index), int(record), int(payment), int(units), bool(to_rp)


@router.get("/repos/{repo_id}/coupons/next", response_model=CouponOwedPublic, status_code=200)
def next_coupon(repo_id: RepoIdPath, principal: ReposRead, session: SessionDep, hub: HubDep) -> CouponOwedPublic:
    """The next coupon the repo's collateral is owed (read from the engine) and the parties' election."""
    service.authorize_repo(session, repo_id, principal.organization_id, principal.is_operator)
    market = hub.require_market()
    bond, index, record, payment, units, to_rp = _owed(hub, repo_id)
    inst = session.get(Instrument, bond.lower())
    decimals = inst.decimals if inst is not None else 0
    amount: str | None = None
    coupon_token: str | None = None
    if payment:
        contract = market.token(bond)
        coupon_token = to_checksum_address(str(market.view(contract, "couponToken")()))
        cash = session.get(Instrument, coupon_token.lower())
        raw = int(market.view(contract, "couponAmount")(units))
        amount = money.from_units(raw, cash.decimals) if cash is not None else str(raw)
    return CouponOwedPublic(
        repo_id=repo_id,
        bond=to_checksum_address(bond),
        index=index if payment else None,
        record_date=datetime.fromtimestamp(record, UTC) if payment else None,
        payment_date=datetime.fromtimestamp(payment, UTC) if payment else None,
        units_of_record=money.from_units(units, decimals),
        amount=amount,
        coupon_token=coupon_token,
        applied_to_repurchase_price=to_rp,
    )


@router.post("/operator/repos/{repo_id}/coupons/pay", response_model=SettlementPublic, status_code=202)
def pay_coupon(repo_id: RepoIdPath, principal: OperatorAdmin, session: SessionDep, hub: HubDep) -> SettlementPublic:
    """The issuer, as the bond's paying agent, pays the coupon a repo's collateral is owed; the engine passes it to
    the seller (or off the repurchase price) in the same transaction. Funded from the issuer's cash, minting what
    it lacks against the money the bond's issuer paid off chain."""
    market = hub.require_market()
    bond, index, _, payment, units, _ = _owed(hub, repo_id)
    if not payment:
        raise InvalidState("the repo's collateral is owed no coupon")
    if market.now() < payment:
        raise InvalidState(f"the coupon is not due before {datetime.fromtimestamp(payment, UTC).isoformat()}")
    contract = market.token(bond)
    coupon_token = to_checksum_address(str(market.view(contract, "couponToken")()))
    amount = int(market.view(contract, "couponAmount")(units))
    if amount == 0:
        raise InvalidState("the coupon is zero")
    issuer = market.issuer.address
    registry = market.w3.eth.contract(address=market.view(market.engine, "registry")(), abi=REGISTRY_ABI)
    if not bool(registry.functions.isSystemAccount(issuer).call()):
        raise InvalidState(
            "the paying agent (the issuer's account) is not a registry system account: it cannot hold cash"
        )
    cash = market.token(coupon_token)
    steps: list[StepSpec] = []
    lacking = amount - int(market.view(cash, "balanceOf")(issuer))
    if lacking > 0:
        steps.append(
            StepSpec(
                label="fund_coupon", to=coupon_token, data=market.encode(cash, "mint", issuer, lacking), sender=issuer
            )
        )
    steps.append(
        StepSpec(
            label="approve_coupon",
            to=coupon_token,
            data=market.encode(cash, "approve", market.engine.address, amount),
            sender=issuer,
        )
    )
    steps.append(
        StepSpec(
            label="pay_coupon",
            to=market.engine.address,
            data=market.encode(market.engine, "payCoupon", repo_id, index),
            sender=issuer,
        )
    )
    return _queue(session, hub, principal.actor, "coupon_payment", steps, object_id=str(repo_id), repo_id=repo_id)


def _queue(
    session: SessionDep,
    hub: HubDep,
    actor: str,
    kind: str,
    steps: list[StepSpec],
    *,
    object_id: str,
    repo_id: int | None,
) -> SettlementPublic:
    settlement = enqueue(session, kind=kind, requested_by=actor, steps=steps, repo_id=repo_id)
    audit_log.append(
        session,
        actor=actor,
        action=f"operator.{kind}",
        object_type="settlement",
        object_id=str(settlement.id),
        change={"subject": object_id},
    )
    session.commit()
    hub.notify()
    return settlement_public(session, settlement)
