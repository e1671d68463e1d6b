"""Re-screening every member and wallet when the sanctions list changes.

The list is a file (REPONET_SANCTIONS_FILE) known by its SHA-256. The gateway's maintenance loop (the process that
does background work) reads the file's digest on each pass; when it differs from the list loaded, it loads the new
list; when the list loaded differs from the one the last re-screening used (the latest ``sanctions.list_changed``
entry of the audit chain, whose object id is the digest), it screens again every member (its name, and the legal
name and beneficial owners of its latest KYC application) and every wallet (its address, exactly, against the
list's names and aliases: lists carry digital currency addresses as aliases). Each new hit is recorded as a KYC
screening hit on the member's latest application, for an officer to decide, and as a ``sanctions.hit`` audit entry,
which the surveillance service reads from its feed and alerts on (``sanctions_rescreen``). All of it is one
transaction, so a restart in the middle screens again rather than half."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.db import audit_log
from gateway.db.models import AuditEntry, KycApplication, Organization, ScreeningHit, Wallet
from gateway.screening.sanctions import SanctionsList, normalize

logger = logging.getLogger(__name__)

ACTOR = "system:screening"
LIST_CHANGED = "sanctions.list_changed"
HIT = "sanctions.hit"


@dataclass(frozen=True)
class Rescreened:
    digest: str
    members: int
    wallets: int
    hits: int


def reload_if_changed(ctx: GatewayContext) -> bool:
    """Load the list file again when its digest differs from the list loaded; True when it did."""
    path = ctx.settings.sanctions_file
    if path is None or not path.exists():
        return False
    if hashlib.sha256(path.read_bytes()).hexdigest() == ctx.sanctions.digest:
        return False
    ctx.sanctions = SanctionsList.from_csv(path, ctx.settings.sanctions_threshold)
    logger.warning("sanctions list %s reloaded (sha256 %s)", path, ctx.sanctions.digest[:12])
    return True


def _last_digest(session: Session, before: int | None = None) -> str | None:
    query = select(AuditEntry.object_id).where(AuditEntry.action == LIST_CHANGED)
    if before is not None:
        query = query.where(AuditEntry.sequence < before)
    return session.scalars(query.order_by(AuditEntry.sequence.desc()).limit(1)).first()


def _latest_application(session: Session, organization_id: object) -> KycApplication | None:
    return session.scalars(
        select(KycApplication)
        .where(KycApplication.organization_id == organization_id)
        .order_by(KycApplication.created_at.desc())
    ).first()


def _record(session: Session, application: KycApplication, screened: str, listed: str, entry: str, score: float) -> int:
    known = session.scalars(
        select(ScreeningHit).where(
            ScreeningHit.application_id == application.id,
            ScreeningHit.screened_name == screened,
            ScreeningHit.list_entry_id == entry,
        )
    ).first()
    if known is not None:
        return 0
    hit = ScreeningHit(
        application_id=application.id, screened_name=screened, listed_name=listed, list_entry_id=entry, score=score
    )
    session.add(hit)
    session.flush()
    audit_log.append(
        session,
        actor=ACTOR,
        action=HIT,
        object_type="screening_hit",
        object_id=str(hit.id),
        change={"application": str(application.id), "screened": screened, "entry": entry, "score": score},
    )
    return 1


def rescreen_if_changed(ctx: GatewayContext, session: Session) -> Rescreened | None:
    """Screen everyone against the loaded list unless the last re-screening used it; None when it did (or there
    is no list). Commits."""
    sanctions = ctx.sanctions
    if not sanctions.digest or _last_digest(session) == sanctions.digest:
        return None
    if session.scalars(select(KycApplication.id).limit(1)).first() is None:
        return None  # nobody applied yet: onboarding screens each applicant against the list it then uses
    marker = audit_log.append(  # takes the audit head's lock: a second process waits here, then sees the marker
        session,
        actor=ACTOR,
        action=LIST_CHANGED,
        object_type="sanctions_list",
        object_id=sanctions.digest,
        change={"previous": _last_digest(session), "entries": len(sanctions.parties)},
    )
    if _last_digest(session, before=marker.sequence) == sanctions.digest:
        session.rollback()
        return None
    addresses = {name: party for party in sanctions.parties for name in party.names}
    members = wallets = hits = 0
    for org in session.scalars(select(Organization).where(Organization.is_operator.is_(False))):
        application = _latest_application(session, org.id)
        if application is None:
            continue  # never applied: nothing was screened, KYC onboarding screens it
        members += 1
        names = list(dict.fromkeys([org.name, application.legal_name,
                                    *(str(o["name"]) for o in application.beneficial_owners)]))  # fmt: skip
        for match in sanctions.screen(names):
            hits += _record(
                session, application, match.screened_name, match.party.name, match.party.entry_id, match.score
            )
        for wallet in session.scalars(select(Wallet).where(Wallet.organization_id == org.id)):
            wallets += 1
            party = addresses.get(normalize(wallet.address))
            if party is not None:
                hits += _record(session, application, wallet.address, party.name, party.entry_id, 100.0)
    session.commit()
    logger.warning(
        "sanctions list %s: re-screened %d members and %d wallets, %d new hits",
        sanctions.digest[:12], members, wallets, hits,
    )  # fmt: skip
    return Rescreened(sanctions.digest, members, wallets, hits)
