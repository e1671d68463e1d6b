"""The EIP-712 ``RepoTerms`` of a trade: built from agreed economics, stored as strings, signed as typed data; and
the trade row that carries them."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy.orm import Session

from contracts import eip712
from gateway.db.models import Wallet
from gateway.exceptions import InvalidRequest
from gateway.trading.models import Trade
from gateway.trading.schemas import RepoShape

INT_FIELDS = [f["name"] for f in eip712.REPO_TERMS if f["type"] != "address"]


class TermsChain(Protocol):
    """What building terms needs of the chain seam (the settlement hub): its clock, chain id, engine and settings;
    named here so trading depends on no settlement module."""

    @property
    def chain_id(self) -> int: ...

    @property
    def extra(self) -> dict[str, object]: ...

    def now(self) -> int: ...

    def require_engine(self) -> str: ...

    @property
    def market(self) -> Any: ...


def requested_maturity(shape: RepoShape, now: int) -> int:
    if shape.maturity is not None and shape.tenor_seconds is not None:
        raise InvalidRequest("give maturity or tenor_seconds, not both")
    if shape.maturity is not None:
        maturity = int(shape.maturity.timestamp())
        if maturity <= now:
            raise InvalidRequest("maturity must be in the future")
        return maturity
    return 0 if shape.tenor_seconds is None else -shape.tenor_seconds  # negative: relative, fixed at acceptance


def build_terms(
    hub: TermsChain,
    *,
    seller: str,
    buyer: str,
    cash_token: str,
    purchase_price: int,
    rate: int,
    day_count_basis: int,
    start: int,
    maturity: int,
    notice: int,
    collateral_token: str,
    collateral_amount: int,
    haircut_bps: int,
    min_transfer: int,
    cure: int,
    grace: int,
    nonce: int,
) -> dict[str, Any]:
    from eth_utils.address import to_checksum_address

    settle_window = int(hub.extra.get("settle_window_seconds", 600))  # type: ignore[call-overload]
    deadline = now_deadline = start + settle_window
    if maturity:
        deadline = min(now_deadline, maturity - 1) if maturity - 1 > start else now_deadline
    return {
        "seller": to_checksum_address(seller),
        "buyer": to_checksum_address(buyer),
        "cashToken": to_checksum_address(cash_token),
        "purchasePrice": purchase_price,
        "rate": rate,
        "dayCountBasis": day_count_basis,
        "startTime": start,
        "maturity": maturity,
        "noticePeriod": notice,
        "collateralToken": to_checksum_address(collateral_token),
        "collateralAmount": collateral_amount,
        "haircutBps": haircut_bps,
        "minTransferAmount": min_transfer,
        "marginCurePeriod": cure,
        "gracePeriod": grace,
        "nonce": nonce,
        "deadline": deadline,
    }


def new_trade(
    session: Session,
    hub: TermsChain,
    *,
    terms: dict[str, Any],
    source: str,
    rfq_id: uuid.UUID | None,
    seller_wallet: Wallet,
    buyer_wallet: Wallet,
    seller_initiator: uuid.UUID | None,
    buyer_initiator: uuid.UUID | None,
) -> Trade:
    if seller_wallet.organization_id == buyer_wallet.organization_id:
        raise InvalidRequest("seller and buyer must be different organizations")
    engine = hub.require_engine()
    digest = eip712.digest("RepoTerms", terms, chain_id=hub.chain_id, engine=engine)
    trade = Trade(
        id=uuid.uuid4(),
        source=source,
        rfq_id=rfq_id,
        seller_org_id=seller_wallet.organization_id,
        buyer_org_id=buyer_wallet.organization_id,
        seller_wallet_id=seller_wallet.id,
        buyer_wallet_id=buyer_wallet.id,
        seller_initiator=seller_initiator,
        buyer_initiator=buyer_initiator,
        terms=stored_terms(terms),
        terms_digest="0x" + digest.hex(),
        chain_id=hub.chain_id,
        engine=engine,
    )
    session.add(trade)
    session.flush()
    return trade


def stored_terms(terms: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k in INT_FIELDS else v) for k, v in terms.items()}


def terms_of(trade: Trade) -> dict[str, Any]:
    return {k: (int(v) if k in INT_FIELDS else v) for k, v in trade.terms.items()}


def typed_data(trade: Trade) -> dict[str, Any]:
    return eip712.typed_data("RepoTerms", terms_of(trade), chain_id=trade.chain_id, engine=trade.engine)
