"""The risk service's own durable state (SQLite in its data directory): call intents, written before a call is
sent so that a restart re-sends the same call under the same Idempotency-Key instead of a new one, and exposure
history per repo and per counterparty pair for charts."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS intents (
    key TEXT PRIMARY KEY, member TEXT NOT NULL, repo_id INTEGER NOT NULL, agreement_id TEXT NOT NULL,
    call_amount TEXT NOT NULL, cure_deadline INTEGER NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, sent_at REAL, answer TEXT
);
CREATE TABLE IF NOT EXISTS pair_exposures (
    at REAL NOT NULL, member TEXT NOT NULL, counterparty TEXT NOT NULL, net TEXT NOT NULL, repos INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS repo_exposures (
    at REAL NOT NULL, member TEXT NOT NULL, repo_id INTEGER NOT NULL, exposure TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Intent:
    key: str
    member: str
    repo_id: int
    agreement_id: str
    call_amount: int
    cure_deadline: int  # chain time by which the call must be met (valuation time + the agreement's cure period)
    status: str  # pending (written, maybe sent) | sent (the gateway accepted it) | refused


class Store:
    """One connection, used by the watcher's one thread; each write is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def intend(self, intent: Intent) -> Intent:
        """Record the intent unless one with its key exists; answer the stored one (a restart finds it)."""
        self.db.execute(
            "INSERT OR IGNORE INTO intents VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, NULL, NULL)",
            (
                intent.key,
                intent.member,
                intent.repo_id,
                intent.agreement_id,
                str(intent.call_amount),
                intent.cure_deadline,
                time.time(),
            ),
        )
        found = self.get(intent.key)
        assert found is not None
        return found

    def get(self, key: str) -> Intent | None:
        row = self.db.execute(
            "SELECT key, member, repo_id, agreement_id, call_amount, cure_deadline, status FROM intents WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return Intent(row[0], row[1], int(row[2]), row[3], int(row[4]), int(row[5]), row[6])

    def pending(self) -> list[Intent]:
        rows = self.db.execute("SELECT key FROM intents WHERE status = 'pending' ORDER BY created_at").fetchall()
        return [i for (key,) in rows if (i := self.get(key)) is not None]

    def mark(self, key: str, status: str, answer: str) -> None:
        self.db.execute(
            "UPDATE intents SET status = ?, sent_at = ?, answer = ? WHERE key = ?", (status, time.time(), answer, key)
        )

    def intents(self) -> list[Intent]:
        rows = self.db.execute("SELECT key FROM intents ORDER BY created_at").fetchall()
        return [i for (key,) in rows if (i := self.get(key)) is not None]

    def record(self, member: str, pairs: dict[str, tuple[int, int]], repos: dict[int, int]) -> None:
        """One revaluation: net exposure per counterparty (net, repo count) and per repo."""
        at = time.time()
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO pair_exposures VALUES (?, ?, ?, ?, ?)",
                [(at, member, cp, str(net), n) for cp, (net, n) in pairs.items()],
            )
            self.db.executemany(
                "INSERT INTO repo_exposures VALUES (?, ?, ?, ?)", [(at, member, r, str(e)) for r, e in repos.items()]
            )
