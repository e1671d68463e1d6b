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
CREATE INDEX IF NOT EXISTS pair_exposures_at ON pair_exposures (at);
CREATE INDEX IF NOT EXISTS repo_exposures_at ON repo_exposures (at);
"""
HISTORY_EVERY = 60.0  # seconds between two recorded revaluations of one member
HISTORY_KEEP = 86_400.0  # seconds of local history kept


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
        self._recorded: dict[str, float] = {}

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
        """One revaluation: net exposure per counterparty (net, repo count) and per repo, at most once per
        ``HISTORY_EVERY`` seconds per member (the service revalues every second: 1,000 repos would add 86 million
        rows a day); rows older than ``HISTORY_KEEP`` are pruned. Charts read the gateway's history."""
        at = time.time()
        if at - self._recorded.get(member, 0.0) < HISTORY_EVERY:
            return
        self._recorded[member] = at
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM pair_exposures WHERE at < ?", (at - HISTORY_KEEP,))
            self.db.execute("DELETE FROM repo_exposures WHERE at < ?", (at - HISTORY_KEEP,))
            self.db.executemany(
                "INSERT INTO pair_exposures VALUES (?, ?, ?, ?, ?)",
                [(at, member, cp, str(net), n) for cp, (net, n) in pairs.items()],
            )
            self.db.executemany(
                "INSERT INTO repo_exposures VALUES (?, ?, ?, ?)", [(at, member, r, str(e)) for r, e in repos.items()]
            )
