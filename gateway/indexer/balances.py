"""The balance follower: Transfer events of listed instruments into ``wallet_balances``.

``/v1/balances`` then reads the database instead of asking the chain ``balanceOf`` once per wallet and instrument
on every request. Each tick reads the Transfer logs of the listed instruments after its cursor (bounded ranges, up
to the latest final block) and re-reads ``balanceOf`` at the range's last block for every (wallet, instrument) of
ours that a transfer touched, and for pairs it has not seen yet (a new wallet, a newly listed instrument). Chain
reads happen before the write transaction; rows and cursor commit together, so a restart resumes where it stopped
and a balance row always says the block it reflects.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from gateway.chain.bindings.tokens import Token
from gateway.chain.heads import idle_seconds
from gateway.db.models import Wallet
from gateway.indexer.models import WalletBalance
from gateway.indexer.scanned import Scanned
from gateway.settlement.market import Market
from gateway.settlement_records.models import IndexerCursor
from gateway.trading.models import Instrument

logger = logging.getLogger(__name__)
CURSOR = "balances"
MAX_RANGE = 1_000
TRANSFER = Web3.keccak(text="Transfer(address,address,uint256)")


def _address(topic: bytes) -> str:
    return Web3.to_checksum_address(bytes(topic)[-20:])


class BalanceFollower:
    def __init__(self, market: Market, sessions: sessionmaker[Session]) -> None:
        self.market = market
        self.sessions = sessions
        self._lock = threading.Lock()
        # the wallets and instruments of the last tick that found a row for every pair of them: while they stay the
        # same and no block comes, a tick reads no balance rows (balance rows are never deleted)
        self._complete: tuple[frozenset[str], frozenset[str]] | None = None
        self._scanned = Scanned()
        self.wake = threading.Event()  # a pushed head (gateway.workers.follow_heads), or stopping

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                changed = self.run_once()
            except Exception:
                logger.exception("balance follower tick failed; retrying")
                changed = 0
            if not changed and not stop.is_set():
                self.wake.wait(idle_seconds(self.market.heads, self.market.settings.indexer_poll_seconds))
                self.wake.clear()

    def run_once(self) -> int:
        """Follow one range of blocks; return how many balances were (re)read."""
        with self._lock:
            with self.sessions() as session:
                row = session.get(IndexerCursor, CURSOR)
                last = self._scanned.after(row.last_block if row is not None else None)
                tokens = [t.lower() for t in session.scalars(select(Instrument.address))]
                wallets = {w.lower(): w for w in session.scalars(select(Wallet.address))}
            head = (
                self.market.recent_block_number(self.market.settings.indexer_poll_seconds)
                - self.market.settings.finality_confirmations
            )
            if last is None:
                last = head  # a first start reads every balance at the head: earlier transfers are in it
            end = min(head, last + MAX_RANGE)
            pairs_now = (frozenset(wallets.values()), frozenset(tokens))
            if end <= last and pairs_now == self._complete:
                return 0  # no new block, and every pair had a row when these wallets and instruments were last seen
            with self.sessions() as session:
                known = set(session.execute(select(WalletBalance.wallet, WalletBalance.token)).tuples())
            missing = {(w, t) for w in wallets.values() for t in tokens} - known
            if end <= last and not missing:
                self._complete = pairs_now
                return 0
            touched: set[tuple[str, str]] = set()
            if end > last and tokens:
                logs = self.market.w3.eth.get_logs(
                    {
                        "address": [Web3.to_checksum_address(t) for t in tokens],
                        "fromBlock": last + 1,
                        "toBlock": end,
                        "topics": [TRANSFER],
                    }
                )
                for log in logs:
                    topics = log["topics"]
                    if len(topics) < 3:
                        continue
                    token = str(log["address"]).lower()
                    for topic in topics[1:3]:
                        ours = wallets.get(_address(topic).lower())
                        if ours is not None:
                            touched.add((ours, token))
            pairs = touched | missing
            at = max(end, last)
            if not pairs and not self._scanned.quiet(at):
                self._complete = pairs_now
                return 1  # a range without a transfer of ours: read, the cursor written later (gateway.indexer.scanned)
            units = {(w, t): Token(self.market.token(t)).balance_of(w, block=at) for w, t in pairs}
            with self.sessions() as session:
                holders = {w for w, _ in units}
                stored_rows: list[WalletBalance] = (
                    list(session.scalars(select(WalletBalance).where(WalletBalance.wallet.in_(holders))))
                    if holders
                    else []
                )
                stored = {(b.wallet, b.token): b for b in stored_rows}
                for (wallet, token), value in units.items():
                    found = stored.get((wallet, token))
                    if found is None:
                        session.add(WalletBalance(wallet=wallet, token=token, units=str(value), block=at))
                    else:
                        found.units, found.block = str(value), at
                cursor = session.get(IndexerCursor, CURSOR)
                if cursor is None:
                    session.add(IndexerCursor(name=CURSOR, last_block=at))
                else:
                    cursor.last_block = at
                session.commit()
            self._scanned.written(at)
            self._complete = pairs_now  # every missing pair now has its row
            return max(len(units), 1 if end > last else 0)
