"""A self-held wallet's GC order: the gateway prepares the ``GcOrder`` message (nonce, matcher, the opening day's
start and end) and the member's own key signs it. The order waits (``unsigned``) and the book
never sees it until a signature by the wallet arrives (an EOA's, or one its ERC-1271 contract accepts) before the
trading day's end; then it is queued like a custodial one. The member's policy is applied when the order is prepared and
again when its signature arrives.

The gateway holds no key of such a wallet: the approvals a fill needs must already be in place (a fill that needs
one fails), and cancelling an order voids it in the book only (the member voids the signature on chain itself, with
``cancelNonce`` from the wallet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy.orm import Session

from contracts import eip712
from gateway.db import audit_log
from gateway.exceptions import Conflict
from gateway.matching import instructions
from gateway.matching.entry import PENDING, UNSIGNED, move_unsigned, signed_message
from gateway.matching.models import GcOrder
from gateway.policy import gc_orders as policy
from gateway.policy.engine import TradeFacts
from gateway.settlement.market import Market
from gateway.trading.exceptions import InvalidSignature


@dataclass(frozen=True)
class OrderDocument:
    typed_data: dict[str, Any]
    digest: bytes


def document(row: GcOrder, *, chain_id: int, engine: str) -> OrderDocument:
    """The EIP-712 document of the order as the gateway prepared it, and its digest."""
    message = dict(signed_message(row))
    return OrderDocument(
        typed_data=eip712.typed_data("GcOrder", message, chain_id=chain_id, engine=engine),
        digest=eip712.digest("GcOrder", message, chain_id=chain_id, engine=engine),
    )


def require_unsigned(row: GcOrder, now: int) -> None:
    if row.status != UNSIGNED:
        raise Conflict(f"order {row.id} is {row.status}: it takes no signature")
    if row.expires_at is not None and now > row.expires_at:
        raise Conflict(f"order {row.id}'s trading day has ended: enter a new order")


SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def canonical(signature: bytes) -> bool:
    """What the engine's ECDSA check takes: 65 bytes, v 27 or 28, s in the lower half of the curve's order
    (``eth_account`` recovers from other forms too, but the engine would revert the fill)."""
    return (
        len(signature) == 65
        and signature[64] in (27, 28)
        and int.from_bytes(signature[32:64], "big") <= SECP256K1_HALF_N
    )


def check_signature(market: Market, row: GcOrder, signature_hex: str) -> str:
    """ "eoa" or "erc1271" if the signature is the maker wallet's over the order in a form the engine takes, else
    raise. Reads the chain (an ERC-1271 wallet): call it before the write transaction."""
    try:
        signature = bytes.fromhex(signature_hex.removeprefix("0x"))
    except ValueError:
        raise InvalidSignature("the signature is not hex bytes") from None
    doc = document(row, chain_id=market.chain_id, engine=market.engine_address)
    maker = str(row.maker)
    signer = ""
    if canonical(signature):
        signer = str(Account.recover_message(encode_typed_data(full_message=doc.typed_data), signature=signature))
    if signer.lower() == maker.lower():
        return "eoa"
    if market.has_code(maker) and market.erc1271_valid(maker, doc.digest, signature):
        return "erc1271"
    raise InvalidSignature(f"the signature is not by {maker} over this order, in the form the engine takes")


def accept_signature(
    session: Session, *, actor: str, row: GcOrder, signature: str, how: str, now: int, facts: list[TradeFacts]
) -> GcOrder:
    """Store the checked signature and queue the order for the book (the caller commits), if it is still unsigned:
    a cancel, a session end or another signature posted at the same moment leaves nothing to sign. The member's
    policy is asked again: a rule adopted since the order was prepared holds."""
    require_unsigned(row, now)
    policy.enforce(session, row.organization_id, facts)
    if not move_unsigned(session, row, signature=signature, status=PENDING):
        raise Conflict(f"order {row.id} is {row.status}: it takes no signature")
    instructions.add(session, action="submit", order_id=row.id)
    audit_log.append(
        session,
        actor=actor,
        action="gc.order.entered",
        object_type="gc_order",
        object_id=str(row.id),
        change={"basket": row.basket_id, "tenor": row.tenor, "side": row.side, "size": row.size_units,
                "rate": row.rate, "order_hash": row.order_hash, "signed_by": how},
    )  # fmt: skip
    return row
