"""/v1/operator/keys: the master keys as the operator watches them — the versions the key file holds, the one new
secrets are sealed under, the oldest still usable, how many secrets are sealed under each, and the last rotation
and retirement from the audit chain. Counts only: no key material and no owner leaves the gateway. Rotation itself
stays with ``reponet keys rotate`` on the host that holds the key file.

It reads what key rotation counts (every domain's sealed secrets), so it sits beside ``gateway.key_rotation``,
above the domains."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway.api.deps import ContextDep, ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketOperate
from gateway.db.models import AuditEntry
from gateway.key_rotation import status

router = APIRouter(tags=["operator"], responses=problem_responses(401, 403, 429))


class SealedPublic(BaseModel):
    version: int
    secrets: int = Field(description="wallet keys, TOTP secrets and webhook signing secrets sealed under it")


class KeyEventPublic(BaseModel):
    at: datetime
    actor: str
    version: int = Field(description="rotation: the new version; retirement: every version below it was destroyed")


class KeysPublic(BaseModel):
    versions: list[int] = Field(description="the master-key versions the key file holds")
    current_version: int = Field(description="new secrets are sealed under it")
    min_version: int = Field(description="versions below it are retired (destroyed)")
    sealed: list[SealedPublic] = Field(description="per version, oldest first; a version with none can be retired")
    last_rotation: KeyEventPublic | None
    last_retirement: KeyEventPublic | None


def _last(read: ReadSessionDep, action: str) -> KeyEventPublic | None:
    entry = read.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.sequence.desc()).limit(1)
    ).first()
    if entry is None:
        return None
    return KeyEventPublic(at=datetime.fromisoformat(entry.at), actor=entry.actor, version=int(entry.object_id))


@router.get("/operator/keys", response_model=KeysPublic, status_code=200)
def keys_status(_: MarketOperate, ctx: ContextDep, read: ReadSessionDep) -> KeysPublic:
    """The master keys' versions and what is sealed under each (operator staff)."""
    report = status(ctx.keys, read)
    return KeysPublic(
        versions=report.versions,
        current_version=report.current_version,
        min_version=report.min_version,
        sealed=[SealedPublic(version=v, secrets=n) for v, n in sorted(report.sealed.items())],
        last_rotation=_last(read, "keys.rotated"),
        last_retirement=_last(read, "keys.retired"),
    )
