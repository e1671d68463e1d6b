"""Wallets: custodial ones (their key generated and sealed by ``gateway.custody``, which alone can sign with it)
and SIWE registration of self-held wallets (master-key rotation: ``gateway.key_rotation``)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_account.messages import defunct_hash_message
from eth_utils.address import to_checksum_address
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.custody import keys as custody_keys
from gateway.db import audit_log
from gateway.db.models import KycStatus, Organization, SiweChallenge, Wallet, WalletKind
from gateway.exceptions import Conflict, InvalidRequest
from gateway.settlement import registry
from gateway.settlement.market import Market
from gateway.settlement_records.models import Settlement
from gateway.wallets import siwe


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Joined:
    """A new wallet and how it joins its member's identity: whitelisted already (the registry written before the
    answer), or by ``settlement`` (the outbox's ``addWallet``, whitelisted when final), or on approval."""

    wallet: Wallet
    whitelisted: bool
    settlement: Settlement | None = None


@dataclass(frozen=True)
class _Whitelisting:
    whitelisted: bool
    settlement: Settlement | None = None


def _whitelist_if_approved(
    ctx: GatewayContext, session: Session, organization: Organization, address: str, outbox: Market | None
) -> _Whitelisting:
    """An approved member's new wallet joins its on-chain identity: through the outbox in the wallet's own
    transaction (``outbox``), or at once, before the wallet is written (the read transaction ends first, so no
    database lock is held across the chain's transaction; a wallet whose row then fails to be written is an
    address whose key nobody kept). Otherwise on approval, or when a pending registration becomes final."""
    approved = organization.kyc_status == KycStatus.APPROVED.value
    identity_id = organization.onchain_identity_id
    if outbox is not None:
        if approved and identity_id is not None:
            queued = registry.whitelist(
                session, outbox, organization=organization, address=address, actor="system:wallets"
            )
            return _Whitelisting(False, queued)
        return _Whitelisting(False)
    session.commit()
    if approved and identity_id is not None:
        ctx.chain.add_wallet(identity_id=identity_id, wallet=address)
        return _Whitelisting(True)
    return _Whitelisting(False)


def create_custodial(
    ctx: GatewayContext,
    session: Session,
    *,
    actor: str,
    organization: Organization,
    label: str,
    outbox: Market | None = None,
) -> Joined:
    wallet_id = uuid.uuid4()
    address, sealed_key = custody_keys.generate(ctx.keys, session, wallet_id=wallet_id)
    joining = _whitelist_if_approved(ctx, session, organization, address, outbox)
    wallet = Wallet(
        id=wallet_id,
        organization_id=organization.id,
        address=address,
        kind=WalletKind.CUSTODIAL.value,
        label=label,
        onchain_whitelisted=joining.whitelisted,
    )
    session.add(wallet)
    session.flush()
    session.add(sealed_key)
    audit_log.append(
        session,
        actor=actor,
        action="wallet.created",
        object_type="wallet",
        object_id=str(wallet.id),
        change={"address": wallet.address, "kind": wallet.kind, "label": label},
    )
    session.commit()
    return Joined(wallet, joining.whitelisted, joining.settlement)


def create_challenge(
    ctx: GatewayContext,
    session: Session,
    *,
    organization: Organization,
    user_id: uuid.UUID,
    address: str,
    label: str,
) -> SiweChallenge:

    address = to_checksum_address(address)
    if session.execute(select(Wallet).where(Wallet.address == address)).scalar_one_or_none():
        raise Conflict("this address is already registered")
    now = _now().replace(microsecond=0)
    nonce = secrets.token_hex(12)
    message = siwe.SiweMessage(
        domain=ctx.settings.siwe_domain,
        address=address,
        statement=f"Register this address as a RepoNet wallet of {organization.name}.",
        uri=ctx.settings.public_origin,
        version="1",
        chain_id=ctx.settings.chain_id,
        nonce=nonce,
        issued_at=now,
        expiration_time=now + timedelta(seconds=ctx.settings.siwe_challenge_seconds),
    )
    challenge = SiweChallenge(
        nonce=nonce,
        organization_id=organization.id,
        user_id=user_id,
        address=address,
        label=label,
        message=message.text(),
        expires_at=message.expiration_time,
    )
    session.add(challenge)
    session.commit()
    return challenge


def _signed_by(ctx: GatewayContext, address: str, message: str, signature: str) -> bool:
    """EIP-4361: an EOA's signature recovers to the address; a contract wallet's is accepted by its ERC-1271
    ``isValidSignature`` over the message's EIP-191 hash."""
    try:
        if siwe.recover_signer(message, signature) == address:
            return True
    except InvalidRequest:  # not an ECDSA signature (a contract wallet's may be longer)
        pass
    digest = bytes(defunct_hash_message(text=message))
    return ctx.chain.erc1271_valid(address, digest, bytes.fromhex(signature.removeprefix("0x")))


def register_self_held(
    ctx: GatewayContext,
    session: Session,
    *,
    actor: str,
    user_id: uuid.UUID,
    organization: Organization,
    message: str,
    signature: str,
    outbox: Market | None = None,
) -> Joined:
    parsed = siwe.parse(message)
    challenge = session.get(SiweChallenge, parsed.nonce)
    if challenge is None or challenge.user_id != user_id or challenge.organization_id != organization.id:
        raise InvalidRequest("unknown challenge")
    if message != challenge.message:
        raise InvalidRequest("the message differs from the challenge issued")
    if parsed.domain != ctx.settings.siwe_domain or parsed.chain_id != ctx.settings.chain_id:
        raise InvalidRequest("wrong domain or chain id")
    if challenge.expires_at <= _now():
        raise InvalidRequest("challenge expired")
    if challenge.used_at is not None:
        raise InvalidRequest("challenge already used")
    if session.execute(select(Wallet).where(Wallet.address == challenge.address)).scalar_one_or_none():
        raise Conflict("this address is already registered")
    session.commit()  # ends the read: the chain is asked below with no database lock held
    if not _signed_by(ctx, challenge.address, message, signature):
        raise InvalidRequest("the signature is not by the challenged address")
    joining = _whitelist_if_approved(ctx, session, organization, challenge.address, outbox)
    claimed = session.execute(
        update(SiweChallenge)
        .where(SiweChallenge.nonce == challenge.nonce, SiweChallenge.used_at.is_(None))
        .values(used_at=_now())
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise InvalidRequest("challenge already used")
    if session.execute(select(Wallet).where(Wallet.address == challenge.address)).scalar_one_or_none():
        raise Conflict("this address is already registered")
    wallet = Wallet(
        organization_id=organization.id,
        address=challenge.address,
        kind=WalletKind.SELF_HELD.value,
        label=challenge.label,
        onchain_whitelisted=joining.whitelisted,
    )
    session.add(wallet)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="wallet.registered",
        object_type="wallet",
        object_id=str(wallet.id),
        change={"address": wallet.address, "kind": wallet.kind, "nonce": challenge.nonce},
    )
    session.commit()
    return Joined(wallet, joining.whitelisted, joining.settlement)
