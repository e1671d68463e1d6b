"""The services' side of a lease, over the gateway's API only (no database, no key of the gateway's): wait as a
standby until this instance holds its kind's lease, renew it from a thread every third of its TTL, and on loss
(refused, or not renewed before it expired) set ``lost`` so the service stops acting and exits. Writes carry
``headers()`` (X-Lease-Token), so a write the gateway receives after a takeover is refused (409)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

import httpx

logger = logging.getLogger(__name__)
TTL_SECONDS = 3.0  # a killed leader's lease lapses within this; a standby polling every POLL_SECONDS takes over
POLL_SECONDS = 0.5


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    """One kind's lease (``risk``, ``price-feed``, ``surveillance``) as held by this process."""

    def __init__(
        self,
        http: httpx.Client,
        kind: str,
        api_key: Callable[[], str],
        *,
        holder: str | None = None,
        ttl: float = TTL_SECONDS,
    ) -> None:
        self.http, self.kind, self.api_key, self.ttl = http, kind, api_key, ttl
        self.holder = holder or holder_id()
        self.token: int | None = None
        self.lost = threading.Event()
        self._valid_until = 0.0
        self.refused = False  # a renewal refused: another instance holds the lease now
        self._renewer: threading.Thread | None = None

    def headers(self) -> dict[str, str]:
        """The fence for the service's writes; nothing before the lease is held."""
        return {} if self.token is None else {"X-Lease-Token": str(self.token)}

    def try_acquire(self) -> bool:
        """One acquire-or-renew: True while this instance holds the lease."""
        started = time.monotonic()
        try:
            answer = self.http.post(
                f"/v1/leases/{self.kind}",
                json={"holder": self.holder, "ttl_seconds": self.ttl},
                headers={"X-API-Key": self.api_key()},
            )
        except httpx.HTTPError as exc:
            logger.warning("lease %s: gateway unavailable: %s", self.kind, exc)
            return False
        if answer.status_code != 200:
            self.refused = answer.status_code == 409 and self.token is not None
            if answer.status_code != 409:  # no key yet, or not this kind's: said once a poll, quietly
                logger.info("lease %s: %s %s", self.kind, answer.status_code, answer.text[:200])
            return False
        token = int(answer.json()["token"])
        if self.token is not None and token != self.token:
            self.refused = True
            return False  # it lapsed and was taken again: what this instance did meanwhile was fenced
        self.token = token
        self._valid_until = started + self.ttl  # counted from before the request: never later than the gateway's
        return True

    def wait(self, stop: threading.Event) -> bool:
        """Standby until the lease is held (True, and renewing from a thread) or ``stop`` is set (False)."""
        standing_by = False
        while not stop.is_set():
            if self.try_acquire():
                logger.warning("lease %s: leading as %s (token %d)", self.kind, self.holder, self.token)
                self._renewer = threading.Thread(target=self._renew, args=(stop,), daemon=True, name="lease")
                self._renewer.start()
                return True
            if not standing_by:
                logger.warning("lease %s: standing by as %s", self.kind, self.holder)
                standing_by = True
            stop.wait(POLL_SECONDS)
        return False

    def _renew(self, stop: threading.Event) -> None:
        """Renew every third of the TTL; on loss set ``lost`` and ``stop`` (the service stops acting at once)."""
        while not stop.is_set() and not self.lost.is_set():
            if stop.wait(self.ttl / 3):
                return
            if self.try_acquire():
                continue
            if self.refused or time.monotonic() >= self._valid_until - self.ttl / 3:
                logger.warning("lease %s: lost (token %s): stepping down", self.kind, self.token)
                self.lost.set()
                stop.set()

    def release(self) -> None:
        """Hand the lease on at once (graceful stop); a killed process's lease lapses after its TTL."""
        if self.token is None or self.lost.is_set():
            return
        try:
            self.http.delete(
                f"/v1/leases/{self.kind}", params={"holder": self.holder}, headers={"X-API-Key": self.api_key()}
            )
        except httpx.HTTPError as exc:
            logger.warning("lease %s: not released: %s", self.kind, exc)


class LeaseGroup:
    """The risk service's leases, one per member key (each member's lease is its own organization's): it leads once
    it holds all of them. Taken in the members' order and stopping at the first refusal, so two instances never
    split them (the one refused the first waits; the other goes on); renewed together, lost as one."""

    def __init__(self, leases: dict[str, Lease]) -> None:
        self.leases = dict(sorted(leases.items()))
        self.lost = threading.Event()

    def headers(self, name: str) -> dict[str, str]:
        lease = self.leases.get(name)
        return {} if lease is None else lease.headers()

    def _all(self) -> bool:
        return all(lease.try_acquire() for lease in self.leases.values())

    def wait(self, stop: threading.Event) -> bool:
        standing_by = False
        while not stop.is_set():
            if self._all():
                logger.warning("leases risk: leading for %d member(s)", len(self.leases))
                threading.Thread(target=self._renew, args=(stop,), daemon=True, name="leases").start()
                return True
            if not standing_by:
                logger.warning("leases risk: standing by")
                standing_by = True
            stop.wait(POLL_SECONDS)
        return False

    def _renew(self, stop: threading.Event) -> None:
        ttl = min((lease.ttl for lease in self.leases.values()), default=TTL_SECONDS)
        while not stop.wait(ttl / 3):
            if self._all():
                continue
            now = time.monotonic()
            if any(lease.refused or now >= lease._valid_until - lease.ttl / 3 for lease in self.leases.values()):
                logger.warning("leases risk: lost: stepping down")
                self.lost.set()
                stop.set()
                return

    def release(self) -> None:
        for lease in self.leases.values():
            lease.release()
