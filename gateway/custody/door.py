"""The one door to custodial keys. Each function checks, records the consent, then signs:

- ``sign_terms``: a trade's EIP-712 terms — KYC, the member's policy (limits, quorum of approvers other than the
  signer), a fresh step-up of the consenting person;
- ``sign_instruction``: an amendment or substitution — the same checks, on the facts of the repo it changes;
- ``sign_gc_order``: a GC order-book order — the same checks, on the order's size, tenor and basket;
- ``authorize_steps`` / ``follow_from`` / ``authorize_standing``: consent to transactions (a party's step, a
  redemption's approval; the approvals and nonce cancellations that follow from consented terms; the steps a member's
  standing instruction to the risk service names, consented in advance by its approver), recorded when asked;
- ``sign_step`` / ``sign_filler``: the relayer's signature of a queued transaction, only with a consent whose
  digest is exactly that transaction's sender, target and calldata.

The consenting person must belong to the wallet's own member: an operator's staff can never consent for a member.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from eth_account.datastructures import SignedTransaction
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.custody import keys as custody_keys
from gateway.custody.exceptions import ConsentMissing, NotTheMembersPerson
from gateway.custody.kyc import require_approved, require_verified
from gateway.custody.models import Consent, Purpose
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import GatewayError, InvalidRequest, StepUpRequired
from gateway.keys.provider import KeyProvider
from gateway.policy.engine import Decision, TradeFacts
from gateway.trading.exceptions import PolicyBlocked, WalletNotVerified

if TYPE_CHECKING:
    from gateway.settlement_records.models import ChainStep, Instruction
    from gateway.settlement_records.steps import StepSpec
    from gateway.trading.models import Trade


class PersonLike(Protocol):
    """What the door needs of the caller (a route's ``Principal``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def organization_id(self) -> uuid.UUID: ...
    @property
    def mfa_at(self) -> datetime | None: ...
    @property
    def actor(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class Person:
    """A member's person who consents (a human with a login session, never an API client)."""

    user_id: uuid.UUID
    organization_id: uuid.UUID
    actor: str
    mfa_at: datetime | None

    @classmethod
    def of(cls, principal: PersonLike) -> Person:
        return cls(principal.id, principal.organization_id, principal.actor, principal.mfa_at)


def step_digest(sender: str, to: str, data: str) -> str:
    """What a transaction consent covers: the sending wallet, the contract and the exact calldata."""
    payload = bytes.fromhex(sender[2:]) + bytes.fromhex(to[2:]) + bytes.fromhex(data.removeprefix("0x"))
    return "0x" + keccak(b"reponet.custody.tx\x00" + payload).hex()


REFUSALS = (PolicyBlocked, WalletNotVerified, NotTheMembersPerson)
"""Refusals of a signature that say something about who asked: the member's policy blocks it, the wallet or member
is not KYC-verified, the person is not the wallet's member's. (A missing step-up or a quorum not yet reached is the
ordinary way to a signature, not a refusal.)"""


@contextlib.contextmanager
def _audited_refusal(session: Session, person: Person, wallet: Wallet, subject: str) -> Iterator[None]:
    """Record a refused signature on the audit chain (``custody.refused`` on the wallet) before the refusal goes
    out: the request's own changes are rolled back as the refusal would have them, the entry alone is committed."""
    wallet_id = wallet.id
    try:
        yield
    except REFUSALS as exc:
        refused(session, person=person, wallet_id=wallet_id, subject=subject, refusal=exc)
        raise


def refused(session: Session, *, person: Person, wallet_id: uuid.UUID, subject: str, refusal: GatewayError) -> None:
    """Record a refusal (``custody.refused``) in ``session`` after rolling back what it held: the door's own, and
    one a route found in its read session before the write transaction (the registry's verdict on the wallet)."""
    session.rollback()
    audit_log.append(
        session,
        actor=person.actor,
        action="custody.refused",
        object_type="wallet",
        object_id=str(wallet_id),
        change={"subject": subject, "refusal": refusal.type_slug, "detail": str(refusal)},
    )
    session.commit()


def _check_person(
    ctx: GatewayContext, session: Session, person: Person, wallet: Wallet, chain_checked: str | None
) -> None:
    if wallet.kind != WalletKind.CUSTODIAL.value:
        raise InvalidRequest("a self-held wallet signs itself")
    if person.organization_id != wallet.organization_id:
        raise NotTheMembersPerson("only a person of the wallet's member consents to its signatures")
    fresh = datetime.now(UTC) - timedelta(seconds=ctx.settings.step_up_seconds)
    if person.mfa_at is None or person.mfa_at < fresh:
        raise StepUpRequired("confirm with a fresh TOTP code at /v1/auth/step-up")
    require_verified(ctx, session, wallet, chain_checked=chain_checked)


def _record(
    session: Session,
    *,
    person_actor: str,
    user_id: uuid.UUID,
    wallet: Wallet,
    purpose: Purpose,
    subject: str,
    digest: str,
    basis: uuid.UUID | None = None,
) -> Consent:
    consent = Consent(
        id=uuid.uuid4(),
        organization_id=wallet.organization_id,
        wallet_id=wallet.id,
        user_id=user_id,
        purpose=purpose.value,
        subject=subject,
        digest=digest,
        basis_id=basis,
    )
    session.add(consent)
    audit_log.append(
        session,
        actor=person_actor,
        action="custody.consented",
        object_type="wallet",
        object_id=str(wallet.id),
        change={"consent": str(consent.id), "purpose": purpose.value, "subject": subject, "digest": digest},
    )
    return consent


def _sign_typed(keys: KeyProvider, session: Session, wallet: Wallet, doc: dict[str, Any], digest: bytes) -> str:
    """Sign ``doc`` only if it hashes to the digest consented to."""
    message = encode_typed_data(full_message=doc)
    if keccak(b"\x19" + bytes(message.version) + bytes(message.header) + bytes(message.body)) != digest:
        raise ConsentMissing("the document differs from the digest consented to")
    signed = custody_keys.unseal_account(keys, session, wallet).sign_typed_data(full_message=doc)
    return "0x" + bytes(signed.signature).hex()


# ------------------------------------------------------------------------------------------------ documents
def sign_terms(
    ctx: GatewayContext, session: Session, *, person: Person, trade: Trade, side: str, chain_checked: str | None
) -> tuple[str, Decision]:
    """The member's custodial signature of one side of a trade's terms."""
    from gateway.policy import service as policy
    from gateway.trading import terms as trading

    wallet = session.get(Wallet, trade.seller_wallet_id if side == "seller" else trade.buyer_wallet_id)
    assert wallet is not None
    with _audited_refusal(session, person, wallet, f"trade/{trade.id}"):
        _check_person(ctx, session, person, wallet, chain_checked)
        decision = policy.enforce(session, trade, side, signer=person.user_id)
    _record(
        session,
        person_actor=person.actor,
        user_id=person.user_id,
        wallet=wallet,
        purpose=Purpose.TERMS,
        subject=f"trade/{trade.id}",
        digest=trade.terms_digest,
    )
    signature = _sign_typed(ctx.keys, session, wallet, trading.typed_data(trade), bytes.fromhex(trade.terms_digest[2:]))
    return signature, decision


def sign_instruction(
    ctx: GatewayContext,
    session: Session,
    *,
    person: Person,
    wallet: Wallet,
    instruction: Instruction,
    doc: dict[str, Any],
    digest: bytes,
    chain_checked: str | None = None,
) -> tuple[str, Decision]:
    """The member's custodial signature of an amendment or substitution of one of its repos. ``chain_checked``:
    the wallet's address as the registry verified it before ``session``'s write transaction opened."""
    from gateway.policy import instructions as policy

    with _audited_refusal(session, person, wallet, f"instruction/{instruction.id}"):
        _check_person(ctx, session, person, wallet, chain_checked)
        decision = policy.enforce(session, instruction, wallet.organization_id, signer=person.user_id)
    _record(
        session,
        person_actor=person.actor,
        user_id=person.user_id,
        wallet=wallet,
        purpose=Purpose.INSTRUCTION,
        subject=f"instruction/{instruction.id}",
        digest="0x" + digest.hex(),
    )
    return _sign_typed(ctx.keys, session, wallet, doc, digest), decision


def sign_gc_order(
    ctx: GatewayContext,
    session: Session,
    *,
    person: Person,
    wallet: Wallet,
    order_id: uuid.UUID,
    doc: dict[str, Any],
    digest: bytes,
    facts: list[TradeFacts],
    chain_checked: str | None,
) -> str:
    """The member's custodial signature of a GC order (``subject`` ``gc-order/{id}``): KYC, step-up, the member's
    policy over the order (``gateway.policy.gc_orders``). Recorded as a consent to terms, so the approvals that
    settle its fills follow from it (``follow_from``)."""
    from gateway.policy import gc_orders as policy

    subject = f"gc-order/{order_id}"
    with _audited_refusal(session, person, wallet, subject):
        _check_person(ctx, session, person, wallet, chain_checked)
        policy.enforce(session, wallet.organization_id, facts)
    _record(
        session,
        person_actor=person.actor,
        user_id=person.user_id,
        wallet=wallet,
        purpose=Purpose.TERMS,
        subject=subject,
        digest="0x" + digest.hex(),
    )
    return _sign_typed(ctx.keys, session, wallet, doc, digest)


# ------------------------------------------------------------------------------------------------ transactions
def _consented(specs: list[StepSpec], wallet: Wallet, make: Any) -> list[StepSpec]:
    out = []
    for spec in specs:
        if spec.sender_wallet_id == wallet.id:
            consent = make(step_digest(spec.sender, spec.to, spec.data), spec)
            spec = dataclasses.replace(spec, consent_id=consent.id)
        out.append(spec)
    return out


def authorize_steps(
    ctx: GatewayContext,
    session: Session,
    *,
    person: Person,
    wallet: Wallet,
    specs: list[StepSpec],
    chain_checked: str,
) -> list[StepSpec]:
    """Record ``person``'s consent to each of ``specs`` sent from ``wallet`` (KYC and step-up checked first).
    ``chain_checked``: the wallet's address as ``kyc.verified_before_writing`` returned it, the registry asked
    before ``session``'s write transaction opened; here only the database's part is checked again."""
    _check_person(ctx, session, person, wallet, chain_checked)
    return _consented(
        specs,
        wallet,
        lambda digest, spec: _record(
            session,
            person_actor=person.actor,
            user_id=person.user_id,
            wallet=wallet,
            purpose=Purpose.TRANSACTION,
            subject=f"tx/{spec.label}",
            digest=digest,
        ),
    )


def authorize_standing(
    ctx: GatewayContext,
    session: Session,
    *,
    wallet: Wallet,
    consenting_user: uuid.UUID,
    instruction_subject: str,
    specs: list[StepSpec],
    chain_checked: str,
) -> list[StepSpec]:
    """Consent to ``specs`` from ``wallet`` under a member's standing instruction (``instruction_subject``, e.g.
    ``risk-instruction/<id>``): the person who approved that instruction consented in advance, with a fresh TOTP
    code, to the steps it names. That person must still be an active person of the wallet's member; the wallet's
    KYC is checked as for any other step."""
    from gateway.db.models import User

    if wallet.kind != WalletKind.CUSTODIAL.value:
        raise InvalidRequest("a self-held wallet signs itself")
    person = session.get(User, consenting_user)
    if person is None or person.organization_id != wallet.organization_id or not person.is_active:
        raise NotTheMembersPerson("the standing instruction's approver is no longer a person of the member")
    require_verified(ctx, session, wallet, chain_checked=chain_checked)
    return _consented(
        specs,
        wallet,
        lambda digest, spec: _record(
            session,
            person_actor="system:risk",
            user_id=consenting_user,
            wallet=wallet,
            purpose=Purpose.TRANSACTION,
            subject=f"{instruction_subject}/{spec.label}"[:80],
            digest=digest,
        ),
    )


def follow_from(session: Session, *, wallet: Wallet, subject: str, specs: list[StepSpec]) -> list[StepSpec]:
    """Transactions that carry out (or undo) what the member consented to for ``subject`` (a trade's terms):
    the approvals that settle them, the cancellation of their nonce when the open fails."""
    if not any(spec.sender_wallet_id == wallet.id for spec in specs):
        return specs
    basis = session.scalars(
        select(Consent)
        .where(Consent.wallet_id == wallet.id, Consent.subject == subject, Consent.purpose == Purpose.TERMS.value)
        .order_by(Consent.created_at)
    ).first()
    if basis is None:
        raise ConsentMissing(f"no consent of the member's wallet {wallet.address} to {subject}")
    return _consented(
        specs,
        wallet,
        lambda digest, spec: _record(
            session,
            person_actor="system:custody",
            user_id=basis.user_id,
            wallet=wallet,
            purpose=Purpose.TRANSACTION,
            subject=f"{subject}/{spec.label}",
            digest=digest,
            basis=basis.id,
        ),
    )


def _consent_of(session: Session, step: ChainStep) -> tuple[Wallet, Consent]:
    wallet = session.get(Wallet, step.sender_wallet_id) if step.sender_wallet_id is not None else None
    if wallet is None:
        raise ConsentMissing("not a custodial wallet's step")
    consent = session.get(Consent, step.consent_id) if step.consent_id is not None else None
    if consent is None or consent.wallet_id != wallet.id or consent.purpose != Purpose.TRANSACTION.value:
        raise ConsentMissing(f"no consent of the member covers step {step.label!r} from {wallet.address}")
    require_approved(session, wallet)
    return wallet, consent


def check_step(session: Session, step: ChainStep) -> Wallet | None:
    """Raise unless the custody door would sign ``step`` (None: the relayer's own account sends it)."""
    if step.sender_wallet_id is None:
        return None
    wallet, consent = _consent_of(session, step)
    if consent.digest != step_digest(wallet.address, step.to, step.data) or step.sender != wallet.address:
        raise ConsentMissing(f"the consent does not cover step {step.label!r} as queued")
    return wallet


def sign_step(
    keys: KeyProvider, session: Session, *, step: ChainStep, nonce: int, gas_price: int, chain_id: int
) -> SignedTransaction:
    """The relayer's custodial signature of a queued step: exactly the transaction the member consented to."""
    wallet = check_step(session, step)
    if wallet is None:
        raise ConsentMissing("not a custodial wallet's step")
    tx: dict[str, Any] = {
        "to": step.to,
        "data": step.data,
        "value": 0,
        "gas": step.gas,
        "gasPrice": gas_price,
        "nonce": nonce,
        "chainId": chain_id,
    }
    signed: SignedTransaction = custody_keys.unseal_account(keys, session, wallet).sign_transaction(tx)
    return signed


def sign_filler(
    keys: KeyProvider, session: Session, *, step: ChainStep, gas_price: int, chain_id: int
) -> SignedTransaction:
    """A zero-value transfer to itself with a refused step's nonce (moves nothing; closes the nonce gap)."""
    wallet, _ = _consent_of(session, step)
    assert step.nonce is not None
    tx: dict[str, Any] = {
        "to": wallet.address,
        "value": 0,
        "gas": 21_000,
        "gasPrice": gas_price,
        "nonce": step.nonce,
        "chainId": chain_id,
    }
    signed: SignedTransaction = custody_keys.unseal_account(keys, session, wallet).sign_transaction(tx)
    return signed
