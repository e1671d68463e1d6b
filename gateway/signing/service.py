"""Signing the terms of a trade.

Custodial wallets: the custody door (``gateway.custody.door``) signs only for a wallet of a KYC-approved
organization that the identity registry verifies, only after the policy engine allows this side of the trade, and
only for a person of that member with a fresh step-up code, whose consent it records. Self-held wallets: the
client signs the typed data itself and posts the signature; it must recover to the registered wallet (EOA) or be
accepted by the wallet's ERC-1271 ``isValidSignature`` over JSON-RPC. The policy applies to both: the gateway
never settles a trade its policy refuses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.custody import door
from gateway.custody.kyc import require_approved, require_verified
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import Conflict, InvalidRequest
from gateway.policy import service as policy
from gateway.policy.engine import Decision
from gateway.settlement import service as settlement
from gateway.settlement.approvals import OpenApprovals, read_open_approvals
from gateway.settlement.hub import Hub
from gateway.signing import preflight
from gateway.trading import records
from gateway.trading import terms as trade_terms
from gateway.trading.exceptions import InvalidSignature, InvalidState
from gateway.trading.models import Trade, TradeStatus


@dataclass(frozen=True)
class CustodialChecked:
    """What the chain said before a custodial signature's write transaction: the side's wallet as the registry
    verified it (``chain_checked``) and the open's allowances (None: no chain attached)."""

    wallet: str
    approvals: OpenApprovals | None


def check_before_writing(
    ctx: GatewayContext, read: Session, trade: Trade, side: str, hub: Hub | None = None
) -> CustodialChecked:
    """The registry check of this side's wallet, the open's preflight and allowances (``hub``), made in the read
    session before the route writes: no JSON-RPC call while the write transaction is open."""
    wallet = _side_wallet(read, trade, side)
    require_verified(ctx, read, wallet)
    if hub is None:
        return CustodialChecked(wallet=wallet.address, approvals=None)
    records.require_pending(trade)
    preflight.check_open(read, hub, trade, side)
    return CustodialChecked(wallet=wallet.address, approvals=read_open_approvals(read, hub, trade))


def _side_wallet(session: Session, trade: Trade, side: str) -> Wallet:
    wallet = session.get(Wallet, trade.seller_wallet_id if side == "seller" else trade.buyer_wallet_id)
    assert wallet is not None
    return wallet


def _store(session: Session, trade: Trade, side: str, signature: str, *, actor: str, how: str) -> None:
    """Store the side's signature only if the trade still waits for it: a conditional update, so an approver's
    rejection committed meanwhile (or another signature of the side) wins, and the row stays locked until this
    transaction ends (on PostgreSQL the rejection's own update then finds the side signed)."""
    column = Trade.seller_signature if side == "seller" else Trade.buyer_signature
    stored = session.execute(
        update(Trade)
        .where(Trade.id == trade.id, Trade.status == TradeStatus.PENDING_SIGNATURES.value, column.is_(None))
        .values({column: signature})
        .execution_options(synchronize_session="evaluate")
    )
    if stored.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidState("the trade changed while it was signed (rejected, cancelled or signed by your side)")
    audit_log.append(
        session,
        actor=actor,
        action="trade.signed",
        object_type="trade",
        object_id=str(trade.id),
        change={"side": side, "how": how, "digest": trade.terms_digest},
    )


def sign_custodial(
    ctx: GatewayContext,
    session: Session,
    hub: Hub,
    *,
    person: door.Person,
    trade: Trade,
    side: str,
    chain_checked: str | None = None,
    approvals: OpenApprovals | None = None,
) -> Decision:
    """Through the custody door: KYC, the member's policy, the person's fresh step-up and consent. ``approvals``:
    the open's allowances, read before the write transaction (``read_open_approvals``)."""
    records.require_pending(trade)
    wallet = _side_wallet(session, trade, side)
    if wallet.kind != WalletKind.CUSTODIAL.value:
        raise InvalidRequest("a self-held wallet signs itself: GET the typed data and POST the signature")
    signature, decision = door.sign_terms(
        ctx, session, person=person, trade=trade, side=side, chain_checked=chain_checked
    )
    actor = person.actor
    _store(session, trade, side, signature, actor=actor, how="custodial")
    settlement.open_if_ready(session, hub, trade=trade, actor=actor, approvals=approvals)
    session.commit()
    hub.notify()
    return decision


def recover(trade: Trade, signature: bytes) -> str | None:
    try:
        signable = encode_typed_data(full_message=trade_terms.typed_data(trade))
        return str(Account.recover_message(signable, signature=signature))
    except Exception:
        return None


def verify_signature(hub: Hub, trade: Trade, wallet: Wallet, signature: bytes) -> str:
    """ "eoa" or "erc1271" if ``signature`` is the wallet's over the trade's digest, else raise."""
    signer = recover(trade, signature)
    if signer is not None and signer.lower() == wallet.address.lower():
        return "eoa"
    if hub.market is not None and hub.market.has_code(wallet.address):
        if hub.market.erc1271_valid(wallet.address, bytes.fromhex(trade.terms_digest[2:]), signature):
            return "erc1271"
    raise InvalidSignature(f"the signature is not by {wallet.address}")


@dataclass(frozen=True)
class SignatureChecked:
    """What the chain said of a self-held signature, asked before the write transaction: the write re-checks that
    the trade is still the one checked (same terms, same wallet, the other side's signature as it was)."""

    how: str  # "eoa" or "erc1271"
    wallet: str
    terms_digest: str
    other_signed: bool
    approvals: OpenApprovals | None  # the open's allowances (None: no chain attached)


def check_signature_before_writing(
    ctx: GatewayContext, read: Session, hub: Hub, *, trade: Trade, side: str, signature: str
) -> SignatureChecked:
    """Every chain read a self-held signature needs (registry, ERC-1271, the open's preflight), in the read session:
    no JSON-RPC call while the write transaction (on SQLite, the database's write lock) is open."""
    records.require_pending(trade)
    wallet = _side_wallet(read, trade, side)
    if wallet.kind != WalletKind.SELF_HELD.value:
        raise InvalidRequest("a custodial wallet is signed by the gateway: POST .../sign")
    require_verified(ctx, read, wallet)
    how = verify_signature(hub, trade, wallet, bytes.fromhex(signature[2:]))
    preflight.check_open(read, hub, trade, side, signature=signature)
    other = trade.buyer_signature if side == "seller" else trade.seller_signature
    return SignatureChecked(
        how=how,
        wallet=wallet.address,
        terms_digest=trade.terms_digest,
        other_signed=other is not None,
        approvals=read_open_approvals(read, hub, trade),
    )


def submit_signature(
    session: Session,
    hub: Hub,
    *,
    actor: str,
    trade: Trade,
    side: str,
    signature: str,
    checked: SignatureChecked,
    signer: uuid.UUID | None = None,
) -> Decision:
    """Store a self-held signature that ``check_signature_before_writing`` accepted, if the trade is unchanged."""
    records.require_pending(trade)
    wallet = _side_wallet(session, trade, side)
    other = trade.buyer_signature if side == "seller" else trade.seller_signature
    if (
        wallet.kind != WalletKind.SELF_HELD.value
        or wallet.address != checked.wallet
        or trade.terms_digest != checked.terms_digest
        or (other is not None) != checked.other_signed
    ):
        raise Conflict("the trade changed while the signature was checked: post it again")
    require_approved(session, wallet)
    decision = policy.enforce(session, trade, side, signer=signer)
    _store(session, trade, side, signature, actor=actor, how=checked.how)
    settlement.open_if_ready(session, hub, trade=trade, actor=actor, approvals=checked.approvals)
    session.commit()
    hub.notify()
    return decision
