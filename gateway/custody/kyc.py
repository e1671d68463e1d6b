"""KYC at the custody door: the member approved and the wallet verified in the on-chain identity registry."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.db.models import KycStatus, Organization, Wallet
from gateway.trading.exceptions import WalletNotVerified


def require_approved(session: Session, wallet: Wallet) -> None:
    """The member's KYC status in the database (no chain call: usable inside a write transaction)."""
    org = session.get(Organization, wallet.organization_id)
    assert org is not None
    if org.kyc_status != KycStatus.APPROVED.value:
        raise WalletNotVerified(f"the organization's KYC status is {org.kyc_status}")


def require_verified(
    ctx: GatewayContext, session: Session, wallet: Wallet, *, chain_checked: str | None = None
) -> None:
    """KYC at the gateway: the organization approved and the wallet verified in the on-chain registry.
    ``chain_checked``: the address whose registry check the route already made before its write transaction
    (on SQLite that transaction holds the database's write lock: no JSON-RPC round trip inside it)."""
    require_approved(session, wallet)
    if chain_checked is not None and chain_checked.lower() == wallet.address.lower():
        return
    # No answer from the registry is no verdict: ChainUnavailable (503, Retry-After) goes to the caller.
    if not ctx.chain.is_verified(wallet.address):
        raise WalletNotVerified(f"wallet {wallet.address} is not verified in the identity registry")


def verified_before_writing(ctx: GatewayContext, read: Session, wallet: Wallet) -> str:
    """The registry's verdict on ``wallet``, asked in a read session before the caller's write transaction opens;
    returns the address to pass on as ``chain_checked`` (the database's part is checked again inside)."""
    require_verified(ctx, read, wallet)
    return wallet.address
