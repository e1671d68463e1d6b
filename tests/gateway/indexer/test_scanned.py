"""A follower's cursor between writes (``gateway.indexer.scanned``): quiet ranges move it in memory, and it is
written with the next rows or once ``WRITE_SECONDS`` have passed; the stored cursor never runs ahead of what was
read, and what was read is never forgotten for an older stored value."""

from __future__ import annotations

import pytest

from gateway.indexer import scanned
from gateway.indexer.scanned import Scanned


def test_quiet_ranges_are_written_only_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(scanned.time, "monotonic", lambda: now[0])
    s = Scanned()
    assert s.after(None) is None and s.after(7) == 7  # nothing read yet: the stored cursor
    assert not s.quiet(8)  # read up to 8, nothing in it: not written
    assert s.after(7) == 8  # the next tick starts after 8, not after the stored 7
    assert s.after(12) == 12  # a stored cursor further on (another process) wins
    now[0] += scanned.WRITE_SECONDS
    assert s.quiet(9)  # due: the follower writes its cursor now
    s.written(9)
    assert not s.quiet(10)
