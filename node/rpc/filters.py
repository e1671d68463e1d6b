"""Polling filters (eth_newFilter & co.) and the matching of logs against a filter."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from node.exceptions import FilterNotFound, LimitExceeded
from node.rpc.limits import current_client
from node.rpc.params import LogFilter

FILTER_TIMEOUT = 300.0
MAX_FILTERS = 1000
MAX_PENDING_CHANGES = 10_000


def log_matches(flt: LogFilter, address: bytes, topics: list[bytes]) -> bool:
    if flt.addresses and address not in flt.addresses:
        return False
    for i, options in enumerate(flt.topics):
        if options is None:
            continue
        if i >= len(topics) or topics[i] not in options:
            return False
    return True


def new_id() -> str:
    return "0x" + secrets.token_hex(16)


@dataclass
class Filter:
    kind: str  # "block", "pending", "logs"
    criteria: LogFilter | None = None
    changes: list[Any] = field(default_factory=list)
    last_poll: float = field(default_factory=time.monotonic)
    owner: str = "local"


class FilterManager:
    """Installed filters, at most ``per_client`` per client (its token's subject or address) so that no client
    takes every slot, and ``MAX_FILTERS`` in all."""

    def __init__(self, per_client: int = 64) -> None:
        self._filters: dict[str, Filter] = {}
        self._counter = itertools.count()
        self.per_client = per_client
        self._owned: dict[str, int] = {}

    def install(self, flt: Filter) -> str:
        self.expire()
        flt.owner = current_client.get()
        if self._owned.get(flt.owner, 0) >= self.per_client:
            raise LimitExceeded(f"too many filters installed by this client (at most {self.per_client})")
        if len(self._filters) >= MAX_FILTERS:
            raise LimitExceeded("too many filters installed")
        fid = new_id()
        self._filters[fid] = flt
        self._owned[flt.owner] = self._owned.get(flt.owner, 0) + 1
        return fid

    def _remove(self, fid: str) -> bool:
        flt = self._filters.pop(fid, None)
        if flt is None:
            return False
        left = self._owned.get(flt.owner, 0) - 1
        if left > 0:
            self._owned[flt.owner] = left
        else:
            self._owned.pop(flt.owner, None)
        return True

    def get(self, fid: str) -> Filter:
        flt = self._filters.get(fid.lower() if isinstance(fid, str) else "")
        if flt is None:
            raise FilterNotFound()
        flt.last_poll = time.monotonic()
        return flt

    def uninstall(self, fid: str) -> bool:
        return self._remove(fid.lower())

    def take_changes(self, fid: str) -> list[Any]:
        flt = self.get(fid)
        changes, flt.changes = flt.changes, []
        return changes

    def expire(self) -> None:
        now = time.monotonic()
        for fid in [f for f, flt in self._filters.items() if now - flt.last_poll > FILTER_TIMEOUT]:
            self._remove(fid)

    def of_kind(self, kind: str) -> list[Filter]:
        return [f for f in self._filters.values() if f.kind == kind]

    def push(self, flt: Filter, items: list[Any]) -> None:
        if len(flt.changes) < MAX_PENDING_CHANGES:
            flt.changes.extend(items[: MAX_PENDING_CHANGES - len(flt.changes)])
