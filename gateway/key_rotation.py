"""Master-key rotation: add a version, rewrap every sealed secret under it, and retire older versions only once
nothing is sealed under them.

Three kinds of rows hold sealed secrets: custodial wallet keys (``wallet_keys``), users' TOTP secrets and webhook
signing secrets (current and, during a secret's rotation, previous). Running gateways pick the new version up from
the key file (``FileKeyProvider.refresh``) and seal under it at once; the master-key lock (``gateway.keys.lock``)
makes the count before retirement see every row a gateway was sealing meanwhile. A row that cannot be unwrapped
(its version already gone, or its blob damaged) is left as it is and named in the report: rotation goes on,
retirement refuses.

It rewraps the secrets of several domains (custody's wallet keys, users, webhooks), so it sits above them, beside
the hub's workers, rather than in ``gateway.keys`` (the envelope, the provider and the lock it uses).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.db.models import User, WalletKey
from gateway.events.models import WebhookEndpoint
from gateway.exceptions import Conflict, KeyManagementError
from gateway.keys.envelope import Sealed, blob_version, rewrap, rewrap_small
from gateway.keys.lock import hold_exclusive
from gateway.keys.provider import KeyProvider

logger = logging.getLogger(__name__)


class RetirementRefused(Conflict):
    """Something is still sealed under a version that was to be retired."""

    title = "Master-key retirement refused"
    type_slug = "master-key-retirement-refused"

    def __init__(self, below: int, remaining: dict[int, int]) -> None:
        listed = ", ".join(f"{count} under v{version}" for version, count in sorted(remaining.items()))
        super().__init__(f"not retiring versions below {below}: secrets are still sealed under them ({listed})")
        self.below = below
        self.remaining = remaining


@dataclass(frozen=True)
class RotationReport:
    new_version: int
    rewrapped: int  # wallet keys
    secrets_rewrapped: int  # TOTP and webhook secrets
    unreadable: tuple[str, ...] = ()  # owners whose secret could not be unwrapped (left untouched)
    retired_below: int | None = None


@dataclass
class KeyStatus:
    versions: list[int]
    min_version: int
    current_version: int
    sealed: dict[int, int] = field(default_factory=dict)  # version -> how many secrets are sealed under it


@dataclass(frozen=True)
class _SealedItem:
    owner: str
    version: int
    move: Callable[[KeyProvider], None]  # rewrap it under the current version, in place


def _wallet_items(session: Session) -> Iterator[_SealedItem]:
    for row in session.scalars(select(WalletKey)):

        def move_wallet(keys: KeyProvider, row: WalletKey = row) -> None:
            sealed = rewrap(
                keys,
                owner=f"wallet/{row.wallet_id}",
                sealed=Sealed(row.master_version, row.wrapped_data_key, row.encrypted_key),
            )
            row.master_version, row.wrapped_data_key = sealed.master_version, sealed.wrapped_data_key

        yield _SealedItem(f"wallet/{row.wallet_id}", row.master_version, move_wallet)


def _secret_items(session: Session) -> Iterator[_SealedItem]:
    """TOTP and webhook secrets: small blobs that carry their master-key version in their first bytes."""
    for user in session.scalars(select(User).where(User.totp_secret_enc.is_not(None))):
        assert user.totp_secret_enc is not None

        def move_totp(keys: KeyProvider, user: User = user) -> None:
            assert user.totp_secret_enc is not None
            user.totp_secret_enc = rewrap_small(keys, owner=f"user-totp/{user.id}", blob=user.totp_secret_enc)

        yield _SealedItem(f"user-totp/{user.id}", blob_version(user.totp_secret_enc), move_totp)
    for endpoint in session.scalars(select(WebhookEndpoint)):
        owner = f"webhook/{endpoint.id}"

        def move_current(keys: KeyProvider, endpoint: WebhookEndpoint = endpoint, owner: str = owner) -> None:
            endpoint.secret_enc = rewrap_small(keys, owner=owner, blob=endpoint.secret_enc)

        yield _SealedItem(owner, blob_version(endpoint.secret_enc), move_current)
        if endpoint.previous_secret_enc is not None:

            def move_previous(keys: KeyProvider, endpoint: WebhookEndpoint = endpoint, owner: str = owner) -> None:
                assert endpoint.previous_secret_enc is not None
                endpoint.previous_secret_enc = rewrap_small(keys, owner=owner, blob=endpoint.previous_secret_enc)

            yield _SealedItem(owner + "/previous", blob_version(endpoint.previous_secret_enc), move_previous)


def sealed_by_version(session: Session) -> dict[int, int]:
    """How many secrets are sealed under each master-key version."""
    counts: Counter[int] = Counter()
    by_version = select(WalletKey.master_version, func.count()).group_by(WalletKey.master_version)
    for version, count in session.execute(by_version):
        counts[int(version)] += int(count)
    for item in _secret_items(session):
        counts[item.version] += 1
    return dict(counts)


def status(keys: KeyProvider, session: Session) -> KeyStatus:
    return KeyStatus(keys.versions(), keys.min_version, keys.current_version, sealed_by_version(session))


def rotate(keys: KeyProvider, session: Session, *, retire: bool, actor: str = "system:keys") -> RotationReport:
    """Add a master-key version, rewrap every sealed secret under it and, with ``retire``, destroy the older
    versions if nothing is left sealed under them (else ``RetirementRefused``, after the rewrap is committed)."""
    new_version = keys.add_version()  # from here on, running gateways seal under it
    hold_exclusive(session)  # a gateway still sealing under the old version commits first; its row is seen below
    wallets = secrets = 0
    unreadable: list[str] = []
    for kind, items in (("wallet", _wallet_items(session)), ("secret", _secret_items(session))):
        for item in list(items):
            if item.version >= new_version:
                continue
            try:
                item.move(keys)
            except KeyManagementError as exc:
                logger.error("cannot rewrap %s (sealed under v%d): %s", item.owner, item.version, exc.detail)
                unreadable.append(item.owner)
                continue
            if kind == "wallet":
                wallets += 1
            else:
                secrets += 1
    audit_log.append(
        session,
        actor=actor,
        action="keys.rotated",
        object_type="master_key",
        object_id=str(new_version),
        change={"rewrapped": wallets, "secrets_rewrapped": secrets, "unreadable": unreadable, "retire": retire},
    )
    session.commit()  # rewrapped rows are durable before any old key is destroyed
    report = RotationReport(new_version, wallets, secrets, tuple(unreadable))
    if not retire:
        return report
    retire_below(keys, session, below=new_version, actor=actor)
    return RotationReport(new_version, wallets, secrets, tuple(unreadable), retired_below=new_version)


def retire_below(keys: KeyProvider, session: Session, *, below: int, actor: str = "system:keys") -> None:
    """Destroy every master-key version below ``below``, unless something is still sealed under one of them."""
    hold_exclusive(session)  # nobody seals while we count and destroy
    remaining = {version: count for version, count in sealed_by_version(session).items() if version < below}
    if remaining:
        session.rollback()
        raise RetirementRefused(below, remaining)
    keys.set_min_version(below)
    audit_log.append(
        session,
        actor=actor,
        action="keys.retired",
        object_type="master_key",
        object_id=str(below),
        change={"retired_below": below},
    )
    session.commit()
