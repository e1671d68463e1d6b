"""Webhooks in the Standard Webhooks format: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``) with a ``whsec_`` secret. During a rotation the old
secret stays valid for a day: both signatures are sent, space separated. Deliveries are logged, retried with
exponential backoff, and resumed from the database after a restart. Where they may go, and how that is checked at
connect time: ``gateway.events.destinations``. The delivery log tells the member what its endpoint answered and
never why a connection failed (refused, timed out, reset: that would make the gateway a port scanner); the
gateway's own log has the detail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete as sa_delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import audit_log
from gateway.db.after_commit import announce_after_commit, set_info
from gateway.events.destinations import check_url, guarded_client, refused
from gateway.events.models import WebhookDelivery, WebhookEndpoint
from gateway.events.tailing import Wake
from gateway.exceptions import InvalidRequest
from gateway.keys.envelope import seal_small, unseal_small
from gateway.keys.provider import KeyProvider

logger = logging.getLogger(__name__)
PREFIX = "whsec_"
MAX_ATTEMPTS = 8
ROTATION_OVERLAP = timedelta(hours=24)
# What the delivery log says when no HTTP answer came: one sentence whatever the cause.
NOT_DELIVERED = "no HTTP answer from the endpoint"
NOT_ALLOWED = "destination not allowed: webhooks go to public https endpoints only"
POLL_SECONDS = 0.2  # the sender's idle tick where nothing rings it
RUNG_POLL_SECONDS = 1.0  # where every writer of deliveries rings it (``announce_queued``): for a lost ring only
ANNOUNCE = "reponet.webhooks.announce"  # ``Session.info`` key: called after a commit that queued deliveries


def announce_queued(sessions: sessionmaker[Session], announce: Callable[[], None]) -> None:
    """Sessions made by ``sessions`` that commit deliveries (new, or sendable again) call ``announce`` after the
    commit, so that the sender sends now rather than at its next tick (``gateway.workers`` wires it to the sender of
    this process and to the doorbell of the one sending on this machine)."""
    set_info(sessions, ANNOUNCE, announce)


def _now() -> datetime:
    return datetime.now(UTC)


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does: any listed signature matches, and the timestamp is recent."""
    message_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
    if abs(int(_now().timestamp()) - timestamp) > tolerance:
        return False
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split(" "))


def _owner(endpoint_id: uuid.UUID) -> str:
    return f"webhook/{endpoint_id}"


def create_endpoint(
    session: Session,
    keys: KeyProvider,
    *,
    organization_id: uuid.UUID,
    url: str,
    event_types: list[str] | None,
    actor: str,
    allow_loopback: bool = False,
) -> tuple[WebhookEndpoint, str]:
    check_url(url, allow_loopback=allow_loopback)
    endpoint_id = uuid.uuid4()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        organization_id=organization_id,
        url=url,
        event_types=event_types,
        secret_enc=seal_small(keys, owner=_owner(endpoint_id), plaintext=secret.encode(), session=session),
        created_by=actor,
    )
    session.add(endpoint)
    _audit(session, actor, "webhook.created", endpoint, {"url": url, "event_types": event_types})
    session.commit()
    return endpoint, secret


def _audit(session: Session, actor: str, action: str, endpoint: WebhookEndpoint, change: dict[str, Any]) -> None:
    session.flush()
    audit_log.append(
        session, actor=actor, action=action, object_type="webhook", object_id=str(endpoint.id), change=change
    )


def rotate(session: Session, keys: KeyProvider, endpoint: WebhookEndpoint) -> str:
    secret = new_secret()
    endpoint.previous_secret_enc = endpoint.secret_enc
    endpoint.previous_valid_until = _now() + ROTATION_OVERLAP
    endpoint.secret_enc = seal_small(keys, owner=_owner(endpoint.id), plaintext=secret.encode(), session=session)
    session.commit()
    return secret


def set_active(
    session: Session, endpoint: WebhookEndpoint, *, active: bool, actor: str, allow_loopback: bool = False
) -> WebhookEndpoint:
    """Disable (nothing new is queued; what is queued waits) or enable again (the URL is checked anew)."""
    if active:
        check_url(endpoint.url, allow_loopback=allow_loopback)
    endpoint.is_active = active
    _audit(session, actor, "webhook.enabled" if active else "webhook.disabled", endpoint, {})
    if active:
        announce_after_commit(session, ANNOUNCE)  # what waited while it was disabled is due now
    session.commit()
    return endpoint


def delete(session: Session, endpoint: WebhookEndpoint, *, actor: str) -> None:
    """Remove the endpoint, its secrets and its delivery log; the audit trail keeps that it existed."""
    _audit(session, actor, "webhook.deleted", endpoint, {"url": endpoint.url})
    session.execute(sa_delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.commit()


def enqueue_events(sessions: sessionmaker[Session], events: list[tuple[dict[str, Any], set[uuid.UUID]]]) -> int:
    """One delivery per (event, subscribed endpoint of an organization the event concerns)."""
    created = 0
    with sessions() as session:
        for event, orgs in events:
            created += enqueue_in(session, event, orgs, message_id=f"msg_{event['id']}")
        session.commit()
    return created


def enqueue_in(session: Session, event: dict[str, Any], orgs: set[uuid.UUID], *, message_id: str) -> int:
    """The deliveries of one event in the caller's transaction (a risk message commits with its deliveries)."""
    created = 0
    endpoints = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.organization_id.in_(orgs), WebhookEndpoint.is_active)
    )
    for endpoint in endpoints:
        if endpoint.event_types is not None and event["type"] not in endpoint.event_types:
            continue
        try:
            with session.begin_nested():
                session.add(
                    WebhookDelivery(
                        endpoint_id=endpoint.id,
                        message_id=message_id,
                        event_type=event["type"],
                        payload={"type": event["type"], "timestamp": event["at"], "data": event},
                    )
                )
            created += 1
        except IntegrityError:  # already queued (the indexer never applies an event twice anyway)
            pass
    if created:
        announce_after_commit(session, ANNOUNCE)
    return created


class WebhookSender:
    """Sends due deliveries; a failure waits 2^attempts seconds (capped at an hour), up to MAX_ATTEMPTS. Idle, it
    waits for a ring (``wake``: deliveries queued), the next retry it scheduled, or its tick."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys: KeyProvider,
        *,
        poll_seconds: float = POLL_SECONDS,
        client: httpx.Client | None = None,
        base_backoff: float = 1.0,
        allow_loopback: bool = False,
    ) -> None:
        self.sessions = sessions
        self.keys = keys
        self.allow_loopback = allow_loopback
        self.client = client or guarded_client(allow_loopback=allow_loopback)
        self.base_backoff = base_backoff
        self._lock = threading.Lock()
        self.wake = Wake(poll_seconds, max(poll_seconds, RUNG_POLL_SECONDS))
        self._retry_at: float | None = None  # (monotonic) the soonest retry this sender scheduled

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.wake.event.clear()  # before the read: a ring during it makes the wait below return at once
            try:
                sent = self.run_once()
            except Exception:
                logger.exception("webhook tick failed; retrying")
                sent = 0
            if not sent and not stop.is_set():
                self.wake.wait(stop, at_most=self._until_retry())

    def _until_retry(self) -> float | None:
        """Seconds until the soonest retry scheduled (a little after, so that it is due), None if none is."""
        if self._retry_at is None:
            return None
        left = self._retry_at - time.monotonic()
        if left <= 0:
            self._retry_at = None  # due: this tick's read sends it (a restart finds any others at its ticks)
            return 0.0
        return left + 0.05

    def run_once(self) -> int:
        with self._lock, self.sessions() as session:
            due = list(
                session.scalars(
                    select(WebhookDelivery)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= _now(),
                        WebhookEndpoint.is_active,
                    )
                    .order_by(WebhookDelivery.created_at)
                    .limit(50)
                )
            )
            for delivery in due:
                endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
                session.commit()  # no database lock is held during the HTTP call (SQLite)
                if endpoint is None or not endpoint.is_active:
                    continue  # deleted or disabled meanwhile
                self._deliver(endpoint, delivery)
                session.commit()
            return len(due)

    def _signatures(self, endpoint: WebhookEndpoint, message_id: str, timestamp: int, body: bytes) -> str:
        secret = unseal_small(self.keys, owner=_owner(endpoint.id), blob=endpoint.secret_enc).decode()
        signatures = [sign(secret, message_id, timestamp, body)]
        if endpoint.previous_secret_enc is not None and endpoint.previous_valid_until is not None:
            if endpoint.previous_valid_until > _now():
                old = unseal_small(self.keys, owner=_owner(endpoint.id), blob=endpoint.previous_secret_enc).decode()
                signatures.append(sign(old, message_id, timestamp, body))
        return " ".join(signatures)

    def _post(self, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
        """(HTTP status, None) if the endpoint answered, else (None, what the member may be told)."""
        try:
            check_url(endpoint.url, allow_loopback=self.allow_loopback)  # endpoints stored before the rules
        except InvalidRequest as exc:
            logger.warning("webhook %s: %s", endpoint.id, exc.detail)
            return None, NOT_ALLOWED
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(_now().timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self._signatures(endpoint, delivery.message_id, timestamp, body),
        }
        try:
            # The answer's status line is all we need: its body is never read, however large.
            with self.client.stream("POST", endpoint.url, content=body, headers=headers) as response:
                return response.status_code, None
        except httpx.HTTPError as exc:
            if refused(exc):
                logger.warning("webhook %s refused: %s", endpoint.id, exc)
                return None, NOT_ALLOWED
            logger.info("webhook %s delivery %s failed: %s", endpoint.id, delivery.message_id, exc)
            return None, NOT_DELIVERED

    def _deliver(self, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> None:
        delivery.attempts += 1
        status, error = self._post(endpoint, delivery)
        delivery.last_status_code = status
        ok = status is not None and 200 <= status < 300
        delivery.last_error = error if status is None else (None if ok else f"HTTP {status}")
        if ok:
            delivery.status, delivery.delivered_at = "delivered", _now()
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
        else:
            delay = min(self.base_backoff * 2 ** (delivery.attempts - 1), 3600.0)
            delivery.next_attempt_at = _now() + timedelta(seconds=delay)
            at = time.monotonic() + delay
            self._retry_at = at if self._retry_at is None else min(self._retry_at, at)
