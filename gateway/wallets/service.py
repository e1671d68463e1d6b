"""Custodial key generation and envelope encryption; SIWE registration of self-held wallets (master-key rotation:
``gateway.keys.rotation``)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import defunct_hash_message
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.audit import log as audit_log
from gateway.context import GatewayContext
from gateway.db.models import KycStatus, Organization, SiweChallenge, Wallet, WalletKey, WalletKind
from gateway.exceptions import Conflict, InvalidRequest, NotFound
from gateway.keys.envelope import Sealed, seal, unseal
from gateway.keys.provider import KeyProvider
from gateway.wallets import siwe


def _now() -> datetime:
    return datetime.now(UTC)


def _owner(wallet_id: uuid.UUID) -> str:
    return f"wallet/{wallet_id}"


def _whitelist_if_approved(ctx: GatewayContext, organization: Organization, wallet: Wallet) -> None:
    """An approved member's new wallet joins its on-chain identity at once; otherwise on approval."""
    if organization.kyc_status == KycStatus.APPROVED.value and organization.onchain_identity_id is not None:
        ctx.chain.add_wallet(identity_id=organization.onchain_identity_id, wallet=wallet.address)
        wallet.onchain_whitelisted = True


def create_custodial(
    ctx: GatewayContext, session: Session, *, actor: str, organization: Organization, label: str
) -> Wallet:
    account: LocalAccount = Account.create()
    wallet = Wallet(
        id=uuid.uuid4(),
        organization_id=organization.id,
        address=account.address,
        kind=WalletKind.CUSTODIAL.value,
        label=label,
    )
    sealed = seal(ctx.keys, owner=_owner(wallet.id), plaintext=bytes(account.key), session=session)
    session.add(wallet)
    session.flush()
    session.add(
        WalletKey(
            wallet_id=wallet.id,
            master_version=sealed.master_version,
            wrapped_data_key=sealed.wrapped_data_key,
            encrypted_key=sealed.ciphertext,
        )
    )
    _whitelist_if_approved(ctx, organization, wallet)
    audit_log.append(
        session,
        actor=actor,
        action="wallet.created",
        object_type="wallet",
        object_id=str(wallet.id),
        change={"address": wallet.address, "kind": wallet.kind, "label": label},
    )
    session.commit()
    return wallet


def signer_for(keys: KeyProvider, session: Session, *, wallet: Wallet) -> LocalAccount:
    """Decrypt a custodial key for signing (the policy engine and step-up gate the callers)."""
    row = session.get(WalletKey, wallet.id)
    if row is None:
        raise NotFound("not a custodial wallet")
    key = unseal(
        keys, owner=_owner(wallet.id), sealed=Sealed(row.master_version, row.wrapped_data_key, row.encrypted_key)
    )
    account: LocalAccount = Account.from_key(key)
    if account.address != wallet.address:
        raise Conflict("decrypted key does not match the wallet address")
    return account


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
) -> Wallet:
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
    if not _signed_by(ctx, challenge.address, message, signature):
        raise InvalidRequest("the signature is not by the challenged address")
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
    )
    session.add(wallet)
    session.flush()
    _whitelist_if_approved(ctx, organization, wallet)
    audit_log.append(
        session,
        actor=actor,
        action="wallet.registered",
        object_type="wallet",
        object_id=str(wallet.id),
        change={"address": wallet.address, "kind": wallet.kind, "nonce": challenge.nonce},
    )
    session.commit()
    return wallet
