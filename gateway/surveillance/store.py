"""The surveillance service's own state, a SQLite file beside its configuration: the feed cursor and an outbox of
alerts not yet accepted by the gateway, written in one transaction. A restart resumes after the cursor, sends what
the outbox still holds (the gateway ignores a key it already has), and never raises a handled trade's alert twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), sequence INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, body TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0);
"""


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def cursor(self) -> int:
        row = self.db.execute("SELECT sequence FROM cursor WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def advance(self, sequence: int, alerts: list[dict[str, Any]]) -> None:
        """The feed up to ``sequence`` is handled; its alerts wait in the outbox."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR IGNORE INTO outbox (key, body) VALUES (?, ?)", [(a["key"], json.dumps(a)) for a in alerts]
            )
            self.db.execute(
                "INSERT INTO cursor (id, sequence) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET sequence = ?",
                (sequence, sequence),
            )

    def unsent(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT body FROM outbox WHERE sent = 0 ORDER BY rowid").fetchall()
        return [json.loads(r[0]) for r in rows]

    def sent(self, key: str) -> None:
        self.db.execute("UPDATE outbox SET sent = 1 WHERE key = ?", (key,))

    def close(self) -> None:
        self.db.close()
