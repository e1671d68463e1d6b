"""Sliding window counters shared by the gateway's processes on one machine, without a server: a memory-mapped
file (``file:///path/ratelimits.bin`` as the rate-limit storage URL) that every HTTP worker maps.

Each key hashes to a 32-byte slot (open addressing over ``SLOTS`` slots, ``PROBES`` tries); a hit takes an
exclusive ``fcntl`` lock on the file for the few microseconds of its read-modify-write, so counts are exact across
processes. A slot whose two windows have passed is reused; when every probed slot is live (65,536 slots: not in
practice) the key takes over the one touched longest ago, with its counts.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SLOTS = 1 << 16
PROBES = 8
# key digest (8 bytes), window index (8), last window's count (4), this window's (4), window seconds (4), spare (4)
SLOT = struct.Struct("<QqIIII")


@dataclass(frozen=True)
class Count:
    """One hit's outcome: whether it passed, and the window's state (``gateway.ratelimit`` says how long to wait)."""

    allowed: bool
    previous: int
    current: int
    elapsed: float


class SharedCounters:
    """The same sliding window as ``gateway.ratelimit.MemoryCounters``, counted in a file every process maps."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = SLOTS * SLOT.size
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        self._thread_lock = threading.Lock()  # fcntl locks are per process: threads of one queue here first

    def hit(self, amount: int, seconds: float, key: tuple[str, ...], now: float | None = None) -> Count:
        """Count one request if ``amount`` a ``seconds`` window allows it; count nothing otherwise."""
        now = time.time() if now is None else now
        window, elapsed = divmod(now, seconds)
        index = int(window)
        digest = int.from_bytes(hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest(), "little") or 1
        with self._thread_lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                offset = self._slot(digest, now)
                _, at, previous, current, _, _ = SLOT.unpack_from(self._map, offset)
                if at != index:
                    previous = current if at == index - 1 else 0
                    current = 0
                remaining = 1 - elapsed / seconds
                allowed = previous * remaining + current + 1 <= amount
                if allowed:
                    current += 1
                SLOT.pack_into(self._map, offset, digest, index, previous, current, math.ceil(seconds), 0)
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
        return Count(allowed, previous, current, elapsed)

    def _slot(self, digest: int, now: float) -> int:
        """The offset of the key's slot: its own, else a free or expired one (both its windows passed), else the
        probed slot touched longest ago, taken over with its counts."""
        start = digest % SLOTS
        oldest, oldest_start = start * SLOT.size, None
        for probe in range(PROBES):
            offset = ((start + probe) % SLOTS) * SLOT.size
            owner, at, _, _, seconds, _ = SLOT.unpack_from(self._map, offset)
            if owner == digest:
                return offset
            if owner == 0 or seconds == 0 or int(now // seconds) - at > 1:
                SLOT.pack_into(self._map, offset, digest, 0, 0, 0, 0, 0)
                return offset
            if oldest_start is None or at * seconds < oldest_start:
                oldest, oldest_start = offset, at * seconds
        return oldest

    def reset(self) -> None:
        with self._thread_lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                self._map[:] = bytes(len(self._map))
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
