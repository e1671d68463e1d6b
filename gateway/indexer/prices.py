"""The price follower: the oracle's prices into ``oracle_prices``, so that valuations (``/v1/repos/{id}``,
``/v1/positions?live=true``) need no ``getPrice`` call on the request path.

Each tick reads the oracle's ``PriceUpdated`` and ``MaxAgeSet`` logs after its cursor (bounded ranges, from the
indexer's start block up to the latest final block): a ``PriceUpdated`` carries the price and its timestamp; for
every pair a log touched, the pair's effective maximum age is re-read at the range's last block. Chain reads happen
before the write transaction; rows and cursor commit together. ``indexed_price`` then answers as the oracle's
``getPrice`` would at time ``now``: nothing for a missing or zero price, nothing for a stale one.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from gateway.chain.bindings.oracle import Oracle
from gateway.chain.heads import idle_seconds
from gateway.chain.outage import Backoff, is_outage
from gateway.indexer.models import OraclePrice, OraclePricePoint
from gateway.indexer.scanned import Scanned
from gateway.settlement.market import Market
from gateway.settlement_records.models import IndexerCursor

logger = logging.getLogger(__name__)
CURSOR = "prices"
MAX_RANGE = 1_000
PRICE_UPDATED = Web3.keccak(text="PriceUpdated(address,address,uint256,uint64)")
MAX_AGE_SET = Web3.keccak(text="MaxAgeSet(address,address,uint64)")


def _address(topic: bytes) -> str:
    return Web3.to_checksum_address(bytes(topic)[-20:])


def indexed_price(session: Session, asset: str, quote: str, now: int) -> int | None:
    """The followed price of ``asset`` in ``quote`` (the oracle's scale) if the oracle's ``getPrice`` would give
    it at time ``now``; None when it is missing, zero or older than the pair's maximum age."""
    row = session.get(OraclePrice, (asset.lower(), quote.lower()))
    if row is None:
        return None
    price = int(row.price)
    if price == 0 or now - row.updated_at > row.max_age:
        return None
    return price


class PriceFollower:
    def __init__(self, market: Market, sessions: sessionmaker[Session], *, start_block: int = 0) -> None:
        self.market = market
        self.sessions = sessions
        self.start_block = start_block
        self._lock = threading.Lock()
        self._scanned = Scanned()
        self.wake = threading.Event()  # a pushed head (gateway.workers.follow_heads), or stopping

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                changed = self.run_once()
                backoff.reset()
            except Exception as exc:
                if not is_outage(exc):
                    logger.exception("price follower tick failed; retrying")
                elif backoff.current == 0.0:
                    logger.warning("price follower: the node is out of reach (%s); retrying with backoff", exc)
                if is_outage(exc):
                    stop.wait(backoff.next())
                changed = 0
            if not changed and not stop.is_set():
                self.wake.wait(idle_seconds(self.market.heads, self.market.settings.indexer_poll_seconds))
                self.wake.clear()

    def run_once(self) -> int:
        """Follow one range of blocks; return how many pairs were (re)written, or 1 for a range without any."""
        with self._lock:
            with self.sessions() as session:
                row = session.get(IndexerCursor, CURSOR)
                read_to = self._scanned.after(row.last_block if row is not None else None)
                last = read_to if read_to is not None else self.start_block - 1
            head = (
                self.market.recent_block_number(self.market.settings.indexer_poll_seconds)
                - self.market.settings.finality_confirmations
            )
            if head <= last:
                return 0
            end = min(head, last + MAX_RANGE)
            logs = self.market.w3.eth.get_logs(
                {
                    "address": self.market.oracle.address,
                    "fromBlock": last + 1,
                    "toBlock": end,
                    "topics": [[PRICE_UPDATED, MAX_AGE_SET]],
                }
            )
            points: dict[tuple[str, str], tuple[int, int]] = {}  # pair -> (price, timestamp), the range's last
            history: dict[tuple[str, str, int, int], tuple[int, int]] = {}  # (pair, block, log) -> (price, time)
            touched: dict[tuple[str, str], tuple[str, str]] = {}  # pair (lower case) -> checksum addresses
            for log in logs:
                topics = log["topics"]
                if len(topics) < 3:
                    continue
                asset, quote = _address(topics[1]), _address(topics[2])
                pair = (asset.lower(), quote.lower())
                touched[pair] = (asset, quote)
                if bytes(topics[0]) == PRICE_UPDATED:
                    data = bytes(log["data"])
                    points[pair] = (int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big"))
                    history[(*pair, int(log["blockNumber"]), int(log["logIndex"]))] = points[pair]
            if not touched and not self._scanned.quiet(end):
                return 1  # a range without a price: read, the cursor written later (gateway.indexer.scanned)
            ages = {pair: Oracle(self.market.oracle).max_age(a, q, block=end) for pair, (a, q) in touched.items()}
            with self.sessions() as session:
                for pair, max_age in ages.items():
                    stored = session.get(OraclePrice, pair)
                    if stored is None:
                        stored = OraclePrice(asset=pair[0], quote=pair[1], price="0", updated_at=0)
                        session.add(stored)
                    if pair in points:
                        stored.price, stored.updated_at = str(points[pair][0]), points[pair][1]
                    stored.max_age, stored.block = max_age, end
                for (asset, quote, block, index), (price, at) in history.items():  # a range read again adds nothing
                    if session.get(OraclePricePoint, (asset, quote, block, index)) is None:
                        point = OraclePricePoint(
                            asset=asset, quote=quote, block=block, log_index=index, price=str(price), updated_at=at
                        )
                        session.add(point)
                cursor = session.get(IndexerCursor, CURSOR)
                if cursor is None:
                    session.add(IndexerCursor(name=CURSOR, last_block=end))
                else:
                    cursor.last_block = end
                session.commit()
            self._scanned.written(end)
            return max(len(ages), 1)
