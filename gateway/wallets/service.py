"""Custodial key generation and envelope encryption, rotation and rewrap; SIWE registration of self-held wallets."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import defunct_hash_message
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.audit import log as audit_log
from gateway.context import GatewayContext
from gateway.db.models import KycStatus, Organization, SiweChallenge, User, Wallet, WalletKey, WalletKind
from gateway.events import webhooks
from gateway.exceptions import Conflict, InvalidRequest, NotFound
from gateway.keys.envelope import Sealed, blob_version, rewrap, rewrap_small, seal, unseal
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
    sealed = seal(ctx.keys, owner=_owner(wallet.id), plaintext=bytes(account.key))
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


@dataclass(frozen=True)
class RotationReport:
    new_version: int
    rewrapped: int
    secrets_rewrapped: int
    retired_below: int | None


def rotate_master_key(keys: KeyProvider, session: Session, *, retire_old: bool) -> RotationReport:
    """Add a master-key version, rewrap every wallet's data key under it, optionally retire older versions."""
    new_version = keys.add_version()
    count = 0
    for row in session.execute(select(WalletKey)).scalars():
        if row.master_version == new_version:
            continue
        sealed = rewrap(
            keys,
            owner=_owner(row.wallet_id),
            sealed=Sealed(row.master_version, row.wrapped_data_key, row.encrypted_key),
        )
        row.master_version, row.wrapped_data_key = sealed.master_version, sealed.wrapped_data_key
        count += 1
    # Every other secret sealed under a master key (TOTP and webhook secrets) moves to the new version too, or retiring
    # the old version would lock every user out.
    secrets_count = 0
    for user in session.execute(select(User).where(User.totp_secret_enc.is_not(None))).scalars():
        assert user.totp_secret_enc is not None
        if blob_version(user.totp_secret_enc) != new_version:
            user.totp_secret_enc = rewrap_small(keys, owner=f"user-totp/{user.id}", blob=user.totp_secret_enc)
            secrets_count += 1
    secrets_count += webhooks.rewrap_secrets(session, keys, new_version=new_version)
    audit_log.append(
        session,
        actor="system:keys",
        action="keys.rotated",
        object_type="master_key",
        object_id=str(new_version),
        change={"rewrapped": count, "secrets_rewrapped": secrets_count, "retire_old": retire_old},
    )
    session.commit()  # rewrapped rows are durable before any old key is destroyed
    retired = None
    if retire_old:
        keys.set_min_version(new_version)
        retired = new_version
    return RotationReport(new_version, count, secrets_count, retired)


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
