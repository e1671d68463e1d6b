"""KYC applications: submission with screening, hit decisions, four-eyes review, on-chain whitelisting."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_utils.crypto import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.db import audit_log, pages
from gateway.db.models import (
    ApplicationStatus,
    HitDecision,
    KycApplication,
    KycStatus,
    Organization,
    ScreeningHit,
    Wallet,
)
from gateway.exceptions import Conflict, FourEyesViolation, InvalidRequest
from gateway.kyc.schemas import ApplicationCreate
from gateway.settlement import registry
from gateway.settlement.market import Market
from gateway.settlement_records.models import Settlement

REVIEW_NOTICE = timedelta(days=30)


def _now() -> datetime:
    return datetime.now(UTC)


def submit(
    ctx: GatewayContext,
    session: Session,
    *,
    actor: str,
    submitter_id: uuid.UUID,
    organization: Organization,
    data: ApplicationCreate,
) -> KycApplication:
    if data.lei != organization.lei:
        raise InvalidRequest("the LEI differs from the organization's")
    open_ = session.execute(
        select(KycApplication).where(
            KycApplication.organization_id == organization.id,
            KycApplication.status.in_([ApplicationStatus.SCREENING_HITS.value, ApplicationStatus.PENDING_REVIEW.value]),
        )
    ).first()
    if open_ is not None:
        raise Conflict("an application is already open for this organization")
    application = KycApplication(
        organization_id=organization.id,
        submitted_by=submitter_id,
        legal_name=data.legal_name,
        lei=data.lei,
        jurisdiction=data.jurisdiction,
        registered_address=data.registered_address,
        investor_class=data.investor_class,
        beneficial_owners=[o.model_dump(mode="json") for o in data.beneficial_owners],
        documents=[d.model_dump(mode="json") for d in data.documents],
        status=ApplicationStatus.PENDING_REVIEW.value,
        provider=ctx.kyc_provider.name,
        screening_list_sha256=ctx.sanctions.digest,
    )
    session.add(application)
    session.flush()
    matches = _screen(ctx, session, application)
    outcome = ctx.kyc_provider.submit(application)
    application.provider_reference = outcome.reference
    if organization.kyc_status in (KycStatus.NONE.value, KycStatus.REJECTED.value, KycStatus.EXPIRED.value):
        organization.kyc_status = KycStatus.PENDING.value
    audit_log.append(
        session,
        actor=actor,
        action="kyc.submitted",
        object_type="kyc_application",
        object_id=str(application.id),
        change={
            **data.model_dump(mode="json"),
            "hits": matches,
            "sanctions_list_sha256": ctx.sanctions.digest,
            "threshold": ctx.sanctions.threshold,
        },
    )
    session.commit()
    return application


def _screen(ctx: GatewayContext, session: Session, application: KycApplication) -> int:
    """Screen the entity and its beneficial owners; record hits not recorded before. Returns the new hits."""
    names = [application.legal_name, *(str(o["name"]) for o in application.beneficial_owners)]
    known = {(h.screened_name, h.list_entry_id) for h in hits_of(session, application.id)}
    new = [m for m in ctx.sanctions.screen(names) if (m.screened_name, m.party.entry_id) not in known]
    for match in new:
        session.add(
            ScreeningHit(
                application_id=application.id,
                screened_name=match.screened_name,
                listed_name=match.party.name,
                list_entry_id=match.party.entry_id,
                score=match.score,
            )
        )
    application.screening_list_sha256 = ctx.sanctions.digest
    if new:
        application.status = ApplicationStatus.SCREENING_HITS.value
    session.flush()
    return len(new)


def hits_of(session: Session, application_id: uuid.UUID) -> list[ScreeningHit]:
    query = select(ScreeningHit).where(ScreeningHit.application_id == application_id).order_by(ScreeningHit.score)
    return list(session.execute(query).scalars().all())


def list_applications(
    session: Session, *, organization_id: uuid.UUID | None, status: str | None, page: pages.PageParams
) -> tuple[list[KycApplication], str | None]:
    query = select(KycApplication)
    if organization_id is not None:
        query = query.where(KycApplication.organization_id == organization_id)
    if status is not None:
        query = query.where(KycApplication.status == status)
    query = pages.keyset(query, page, KycApplication.created_at, KycApplication.id)
    return pages.finish(session.scalars(query).all(), page, lambda a: (a.created_at, a.id))


def decide_hit(
    session: Session,
    *,
    actor: str,
    officer_id: uuid.UUID,
    application: KycApplication,
    hit: ScreeningHit,
    decision: HitDecision,
    note: str,
) -> KycApplication:
    if application.status != ApplicationStatus.SCREENING_HITS.value:
        raise Conflict("the application has no open screening hits")
    if hit.decision is not None:
        raise Conflict("this hit is already decided")
    if officer_id == application.submitted_by:
        raise FourEyesViolation("the submitter cannot clear its own screening hits")
    hit.decision = decision.value
    hit.decided_by = officer_id
    hit.decided_at = _now()
    session.flush()
    if all(h.decision is not None for h in hits_of(session, application.id)):
        application.status = ApplicationStatus.PENDING_REVIEW.value
    audit_log.append(
        session,
        actor=actor,
        action="kyc.hit_decided",
        object_type="screening_hit",
        object_id=str(hit.id),
        change={"decision": decision.value, "note": note, "application_id": str(application.id)},
    )
    session.commit()
    return application


def decide(
    ctx: GatewayContext,
    session: Session,
    *,
    actor: str,
    officer_id: uuid.UUID,
    application: KycApplication,
    approve: bool,
    note: str,
    outbox: Market | None = None,
) -> Settlement | None:
    """A compliance officer other than the submitter approves or rejects; approval whitelists on chain.

    With the outbox (``outbox``: a relayer sends the registry's writes) the approval and the registration it asks
    for are recorded in one database transaction and the registration's settlement is returned: the relayer sends
    it from the KYC agent's account and its finality hook records the identity id and the whitelisted wallets
    (gateway.settlement.registry). Without it (an in-memory registry) the registry is written between two
    database transactions, never inside one, and the decision recorded once the application is found still
    pending (a concurrent decision in between wins; this one answers 409)."""
    _check_decidable(application, officer_id)
    rescreened = approve and application.screening_list_sha256 != ctx.sanctions.digest
    if rescreened and _new_matches(ctx, session, application):
        # The list changed since screening and names new matches: they need a decision before anyone is whitelisted.
        new_hits = _screen(ctx, session, application)
        _audit_rescreen(ctx, session, actor=actor, application=application, new_hits=new_hits)
        session.commit()
        raise Conflict("re-screened against a newer sanctions list: new hits need a decision")
    hits = hits_of(session, application.id)
    if approve and any(h.decision == HitDecision.TRUE_MATCH.value for h in hits):
        raise Conflict("a confirmed sanctions match cannot be approved")
    organization = session.get(Organization, application.organization_id)
    assert organization is not None
    whitelisted: _Whitelisted | None = None
    queued: Settlement | None = None
    if approve and outbox is not None:
        queued = _queue_registration(
            ctx, session, outbox, actor=actor, organization=organization, application=application
        )
        if rescreened:
            _screen(ctx, session, application)
            _audit_rescreen(ctx, session, actor=actor, application=application, new_hits=0)
    elif approve:
        whitelisted = _whitelist_on_chain(ctx, session, organization=organization, application=application)
        session.refresh(application)  # a new transaction: the decision is recorded only if still undecided
        _check_decidable(application, officer_id)
        if rescreened:
            _screen(ctx, session, application)  # no new matches (checked above): records the list's digest
            _audit_rescreen(ctx, session, actor=actor, application=application, new_hits=0)
    application.decided_by = officer_id
    application.decided_at = _now()
    application.decision_note = note
    if whitelisted is not None:
        application.status = ApplicationStatus.APPROVED.value
        _record_whitelist(session, organization=organization, application=application, whitelisted=whitelisted)
    elif queued is not None:
        application.status = ApplicationStatus.APPROVED.value
    else:
        application.status = ApplicationStatus.REJECTED.value
        if organization.kyc_status == KycStatus.PENDING.value:
            organization.kyc_status = KycStatus.REJECTED.value
    audit_log.append(
        session,
        actor=actor,
        action="kyc.approved" if approve else "kyc.rejected",
        object_type="kyc_application",
        object_id=str(application.id),
        change={
            "note": note,
            "kyc_expiry": organization.kyc_expiry,
            "identity_id": organization.onchain_identity_id,
            **({"settlement": str(queued.id)} if queued is not None else {}),
        },
    )
    session.commit()
    return queued


def _queue_registration(
    ctx: GatewayContext,
    session: Session,
    outbox: Market,
    *,
    actor: str,
    organization: Organization,
    application: KycApplication,
) -> Settlement:
    """The member approved here and its identity queued for the registry, in the decision's transaction; its
    wallets are whitelisted (``onchain_whitelisted``) and its identity id recorded when the registration is final."""
    expiry = _now() + timedelta(days=ctx.settings.kyc_review_days)
    wallets = list(session.scalars(select(Wallet).where(Wallet.organization_id == organization.id)))
    queued = registry.register(
        session,
        outbox,
        organization=organization,
        lei_hash=lei_hash(organization.lei),
        jurisdiction=application.jurisdiction,
        investor_class=application.investor_class,
        kyc_expiry=int(expiry.timestamp()),
        wallets=[w for w in wallets if not w.onchain_whitelisted],
        actor=actor,
    )
    organization.kyc_status = KycStatus.APPROVED.value
    organization.kyc_expiry = expiry
    organization.next_review_at = expiry - REVIEW_NOTICE
    organization.jurisdiction = application.jurisdiction
    return queued


def lei_hash(lei: str) -> bytes:
    return keccak(text=lei)


def _check_decidable(application: KycApplication, officer_id: uuid.UUID) -> None:
    if officer_id == application.submitted_by:
        raise FourEyesViolation()
    if application.status != ApplicationStatus.PENDING_REVIEW.value:
        raise Conflict(f"the application is {application.status}, not pending review")


def _new_matches(ctx: GatewayContext, session: Session, application: KycApplication) -> bool:
    """Whether screening again would record a hit not recorded before (reads only)."""
    names = [application.legal_name, *(str(o["name"]) for o in application.beneficial_owners)]
    known = {(h.screened_name, h.list_entry_id) for h in hits_of(session, application.id)}
    return any((m.screened_name, m.party.entry_id) not in known for m in ctx.sanctions.screen(names))


def _audit_rescreen(
    ctx: GatewayContext, session: Session, *, actor: str, application: KycApplication, new_hits: int
) -> None:
    audit_log.append(
        session,
        actor=actor,
        action="kyc.rescreened",
        object_type="kyc_application",
        object_id=str(application.id),
        change={"sanctions_list_sha256": ctx.sanctions.digest, "new_hits": new_hits},
    )


@dataclass(frozen=True)
class _Whitelisted:
    """What the registry was told: the identity, its new expiry, and the wallets added."""

    identity_id: int
    expiry: datetime
    wallet_ids: list[uuid.UUID]


def _whitelist_on_chain(
    ctx: GatewayContext, session: Session, *, organization: Organization, application: KycApplication
) -> _Whitelisted:
    """Register (or renew) the member's identity and its wallets on chain, with no database transaction open."""
    expiry = _now() + timedelta(days=ctx.settings.kyc_review_days)
    wallets = list(session.execute(select(Wallet).where(Wallet.organization_id == organization.id)).scalars().all())
    pending = [w for w in wallets if not w.onchain_whitelisted]
    identity_id = organization.onchain_identity_id
    session.commit()  # ends the read: no database lock is held across the chain's transactions
    if identity_id is None:
        identity_id = ctx.chain.register_identity(
            lei_hash=lei_hash(organization.lei),
            jurisdiction=application.jurisdiction,
            investor_class=application.investor_class,
            kyc_expiry=int(expiry.timestamp()),
            wallets=[w.address for w in pending],
        )
    else:
        ctx.chain.update_identity(
            identity_id=identity_id,
            jurisdiction=application.jurisdiction,
            investor_class=application.investor_class,
            kyc_expiry=int(expiry.timestamp()),
        )
        for wallet in pending:
            ctx.chain.add_wallet(identity_id=identity_id, wallet=wallet.address)
    return _Whitelisted(identity_id=identity_id, expiry=expiry, wallet_ids=[w.id for w in pending])


def _record_whitelist(
    session: Session, *, organization: Organization, application: KycApplication, whitelisted: _Whitelisted
) -> None:
    for wallet_id in whitelisted.wallet_ids:
        wallet = session.get(Wallet, wallet_id)
        if wallet is not None:
            wallet.onchain_whitelisted = True
    organization.onchain_identity_id = whitelisted.identity_id
    organization.kyc_status = KycStatus.APPROVED.value
    organization.kyc_expiry = whitelisted.expiry
    organization.next_review_at = whitelisted.expiry - REVIEW_NOTICE
    organization.jurisdiction = application.jurisdiction
