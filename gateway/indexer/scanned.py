"""How far a follower has read, between the writes of its cursor.

The balance and price followers read every block's logs, and most blocks hold nothing of theirs. Committing the
cursor for each such block was a write transaction twice a second per follower (SQLite's one write lock taken,
and a file sync), for nothing a reader sees: no other process reads these cursors. A range with nothing in it
now moves the cursor here only, and it is written with the next rows the follower commits, or at least every
``WRITE_SECONDS``. After a restart the follower reads again from the stored cursor; a range read again adds
nothing (rows are keyed by what they hold).
"""

from __future__ import annotations

import time

WRITE_SECONDS = 5.0


class Scanned:
    def __init__(self) -> None:
        self.block: int | None = None
        self._written_at = time.monotonic()

    def after(self, stored: int | None) -> int | None:
        """The last block read: the stored cursor, or further where a quiet range was read since."""
        if self.block is None:
            return stored
        return self.block if stored is None else max(stored, self.block)

    def quiet(self, block: int) -> bool:
        """A range up to ``block`` held nothing: True when the cursor is due to be written anyway."""
        self.block = block
        return time.monotonic() - self._written_at >= WRITE_SECONDS

    def written(self, block: int) -> None:
        self.block = block
        self._written_at = time.monotonic()
