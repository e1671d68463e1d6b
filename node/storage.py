"""Crash-safe chain store on SQLite, behind py-evm's ``AtomicDatabaseAPI`` for state.

Why SQLite: it ships with Python (no native build, nothing to install on an operator's host), it gives
real ACID transactions, and its WAL journal lets the RPC thread read the last committed block while the
producer writes the next one. Each block is committed as ONE SQLite transaction holding its state trie
nodes, header, body, receipts, the head pointer and the tx/log indices, so after ``kill -9`` (or power
loss) the head is always a whole block and every receipt ever served is on disk. ``synchronous=FULL``:
a block is durable once committed, and since a block is the unit of commit the fsync cost is per block
(a few per second), not per transaction. LevelDB/RocksDB would be faster for random trie reads but need
native bindings and give no multi-key transaction across our indices, which is what crash safety needs.

Restart reads the head row and the last 256 hashes; nothing is replayed, so it is O(1) in chain length.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth.abc import AtomicWriteBatchAPI, ReceiptAPI, SignedTransactionAPI
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB
from eth.vm.forks.prague.receipts import PragueReceiptBuilder

from node.exceptions import StorageError
from node.headers import QbftHeader, decode_header, encode_header
from node.receipts import encode_receipt
from node.rlp_lists import decode_bytes_list, encode_bytes_list
from node.senders import decode_transaction

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, header BLOB NOT NULL,
    txs BLOB NOT NULL, receipts BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS txs (hash BLOB PRIMARY KEY, number INTEGER NOT NULL, idx INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (
    number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_index INTEGER NOT NULL,
    address BLOB NOT NULL, t0 BLOB, t1 BLOB, t2 BLOB, t3 BLOB,
    PRIMARY KEY (number, log_index)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_address ON logs (address, number);
CREATE INDEX IF NOT EXISTS logs_t0 ON logs (t0, number);
"""


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


class _NodeCache:
    """A bounded cache of immutable key/values (trie nodes and code are content-addressed, never stale).

    Plain dict operations (atomic under the GIL) and FIFO eviction: no lock and no reordering on the hot
    read path, which py-evm hits for every trie node it walks.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        data = self._data
        data[key] = value
        if len(data) > self._size:
            try:
                del data[next(iter(data))]
            except (KeyError, RuntimeError, StopIteration):
                pass  # another thread evicted or resized at the same moment: nothing to do


class StateDB(BaseAtomicDB):
    """py-evm's key/value view of the state, on the ``kv`` table.

    Writes stay in memory (``pending``) until :meth:`ChainStore.commit_block` flushes them with the block,
    so a half-built block never reaches disk. Keys are content hashes and never deleted (history stays
    queryable), so the shared read cache can never be stale.
    """

    def __init__(self, store: ChainStore, conn: sqlite3.Connection, base: dict[bytes, bytes] | None = None) -> None:
        self._store = store
        self._conn = conn
        self.pending: dict[bytes, bytes] = {}
        # the pending writes of an executed, not yet committed parent block (building on it before it is final);
        # once the parent is committed its writes are in the store as well, so reading them here stays right
        self._base = base

    def __getitem__(self, key: bytes) -> bytes:
        value = self.pending.get(key)
        if value is not None:
            return value
        if self._base is not None:
            value = self._base.get(key)
            if value is not None:
                return value
        value = self._store.cache.get(key)
        if value is not None:
            return value
        row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        value = bytes(row[0])
        self._store.cache.put(key, value)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        # History is kept: content-addressed nodes are never deleted.
        pass

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        with AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch

    def discard(self) -> None:
        self.pending = {}


@dataclass(frozen=True)
class StoredLog:
    number: int
    log_index: int
    tx_index: int


@dataclass
class BlockRecord:
    header: QbftHeader
    transactions: list[SignedTransactionAPI]
    receipts: list[ReceiptAPI]


def encode_txs(txs: Sequence[SignedTransactionAPI]) -> bytes:
    return encode_bytes_list([tx.encode() for tx in txs])


def decode_txs(data: bytes) -> list[SignedTransactionAPI]:
    """Transactions of a block, with their senders recovered once (RPC formatting reads them a lot); those this
    node already decoded (from its pool or a proposal) are reused, not decoded and recovered again."""
    return [decode_transaction(item) for item in decode_bytes_list(data)]


def encode_receipts(receipts: Sequence[ReceiptAPI]) -> bytes:
    return encode_bytes_list([encode_receipt(r) for r in receipts])


def decode_receipts(data: bytes) -> list[ReceiptAPI]:
    return [PragueReceiptBuilder.decode(item) for item in decode_bytes_list(data)]


class ChainStore:
    """Blocks, receipts, indices and state of one chain in one SQLite file.

    One writer (the block producer) uses ``_write_conn``; readers (RPC) use a per-thread connection, which
    WAL lets see the last committed block without blocking the writer.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cache = _NodeCache(200_000)
        self._write_conn = _connect(path)
        self._write_conn.executescript(_SCHEMA)
        self._local = threading.local()
        self._block_cache: OrderedDict[int, BlockRecord] = OrderedDict()
        self._block_cache_lock = threading.Lock()
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION).encode())
        elif int(version) != SCHEMA_VERSION:
            raise StorageError(f"{path}: schema version {int(version)}, this node reads {SCHEMA_VERSION}")

    # connections -----------------------------------------------------------------------------------
    @property
    def read_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
        return conn

    def state_db(self, for_writing: bool = False, base: dict[bytes, bytes] | None = None) -> StateDB:
        return StateDB(self, self._write_conn if for_writing else self.read_conn, base)

    def close(self) -> None:
        self._write_conn.close()

    # meta ------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> bytes | None:
        row = self.read_conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        # the calling thread's own connection: the producer's may be inside a block transaction
        self.read_conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (key, value))

    # blocks ----------------------------------------------------------------------------------------
    def head_number(self) -> int | None:
        row = self.read_conn.execute("SELECT max(number) FROM blocks").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def commit_block(
        self,
        header: QbftHeader,
        transactions: Sequence[SignedTransactionAPI],
        receipts: Sequence[ReceiptAPI],
        state: StateDB,
        encoded_receipts: Sequence[bytes] | None = None,
    ) -> None:
        """Write a whole block and its state in one transaction: after a crash it is there or it is not."""
        conn = self._write_conn
        number = header.block_number
        log_rows: list[tuple[Any, ...]] = []
        log_index = 0
        for tx_index, receipt in enumerate(receipts):
            for log in receipt.logs:
                topics = [t.to_bytes(32, "big") for t in log.topics[:4]]
                topics += [None] * (4 - len(topics))  # type: ignore[list-item]
                log_rows.append((number, log_index, tx_index, bytes(log.address), *topics))
                log_index += 1
        if encoded_receipts is not None and len(encoded_receipts) == len(receipts):
            receipts_rlp = encode_bytes_list(encoded_receipts)
        else:
            receipts_rlp = encode_receipts(receipts)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR IGNORE INTO kv (k, v) VALUES (?, ?)", state.pending.items())
            conn.execute(
                "INSERT INTO blocks (number, hash, header, txs, receipts) VALUES (?, ?, ?, ?, ?)",
                (number, header.hash, encode_header(header), encode_txs(transactions), receipts_rlp),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO txs (hash, number, idx) VALUES (?, ?, ?)",
                [(tx.hash, number, i) for i, tx in enumerate(transactions)],
            )
            conn.executemany(
                "INSERT INTO logs (number, log_index, tx_index, address, t0, t1, t2, t3)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                log_rows,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for key, value in state.pending.items():
            self.cache.put(key, value)
        state.discard()
        self._remember(BlockRecord(header, list(transactions), list(receipts)))

    def _remember(self, record: BlockRecord) -> None:
        with self._block_cache_lock:
            self._block_cache[record.header.block_number] = record
            while len(self._block_cache) > 64:
                self._block_cache.popitem(last=False)

    def header_by_number(self, number: int) -> QbftHeader | None:
        with self._block_cache_lock:
            record = self._block_cache.get(number)
        if record is not None:
            return record.header
        row = self.read_conn.execute("SELECT header FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else decode_header(bytes(row[0]))

    def number_by_hash(self, block_hash: bytes) -> int | None:
        row = self.read_conn.execute("SELECT number FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
        return None if row is None else int(row[0])

    def block(self, number: int) -> BlockRecord | None:
        with self._block_cache_lock:
            record = self._block_cache.get(number)
        if record is not None:
            return record
        row = self.read_conn.execute("SELECT header, txs, receipts FROM blocks WHERE number = ?", (number,)).fetchone()
        if row is None:
            return None
        record = BlockRecord(decode_header(bytes(row[0])), decode_txs(bytes(row[1])), decode_receipts(bytes(row[2])))
        self._remember(record)
        return record

    def transactions(self, number: int) -> list[SignedTransactionAPI]:
        record = self.block(number)
        return [] if record is None else record.transactions

    def tx_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        row = self.read_conn.execute("SELECT number, idx FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def recent_hashes(self, head: int, count: int = 256) -> list[bytes]:
        """Hashes of blocks head, head-1, ... (newest first), for BLOCKHASH."""
        rows = self.read_conn.execute(
            "SELECT hash FROM blocks WHERE number <= ? AND number > ? ORDER BY number DESC", (head, head - count)
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def find_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Sequence[bytes],
        topics: Sequence[Sequence[bytes] | None],
        limit: int,
    ) -> list[StoredLog]:
        """Log positions matching an eth_getLogs filter, in chain order (at most ``limit + 1``)."""
        sql = ["SELECT number, log_index, tx_index FROM logs WHERE number BETWEEN ? AND ?"]
        args: list[Any] = [from_block, to_block]
        if addresses:
            sql.append(f"AND address IN ({','.join('?' * len(addresses))})")
            args.extend(addresses)
        for i, options in enumerate(topics[:4]):
            if options:
                sql.append(f"AND t{i} IN ({','.join('?' * len(options))})")
                args.extend(options)
        sql.append("ORDER BY number, log_index LIMIT ?")
        args.append(limit + 1)
        rows = self.read_conn.execute(" ".join(sql), args).fetchall()
        return [StoredLog(int(r[0]), int(r[1]), int(r[2])) for r in rows]
