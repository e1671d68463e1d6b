"""The indexer: engine events into ``repo_events`` and the repos' state into ``repos``.

It reads ``eth_getLogs`` from the block after its cursor up to the latest final block, in bounded ranges. The
events of a range and the new cursor commit together, so a restart resumes exactly where it stopped; an event is
keyed by (block hash, log index) and never applied twice. ``reconcile`` re-reads a repo's state from the chain.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker
from web3._utils.events import get_event_data

from gateway.chain.bindings.engine import RepoStatus
from gateway.chain.calls import event_topic
from gateway.chain.heads import idle_seconds
from gateway.chain.outage import Backoff, is_outage
from gateway.db import audit_log
from gateway.db.models import Wallet
from gateway.events.bus import EventBus
from gateway.indexer import claims, wire
from gateway.indexer.expiry import ExpirySweep, Verdicts
from gateway.matching import credit_release as gc_credit
from gateway.matching import scheduled as gc_scheduled
from gateway.matching.settle import FillPlan
from gateway.settlement.market import Market
from gateway.settlement_records import parties
from gateway.settlement_records.bell import Bell
from gateway.settlement_records.models import IndexerCursor, RepoEvent, RepoRecord
from gateway.trading.models import Trade

logger = logging.getLogger(__name__)
CURSOR = "repo_engine"
MAX_RANGE = 1_000
REPURCHASED = "RepoRepurchased"
TERMINATION_NOTICED = "RepoTerminationNoticed"
# an event names wallets by address; only the owning organization is needed, not the whole row
_ORG_OF_WALLET = select(Wallet.organization_id).where(Wallet.address == bindparam("address"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class Indexer:
    def __init__(
        self,
        market: Market,
        sessions: sessionmaker[Session],
        *,
        bus: EventBus | None = None,
        start_block: int = 0,
        on_events: Any = None,
        read_sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self.market = market
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions  # reads beside chain calls: never hold the write lock
        self.gc_scheduled = gc_scheduled.ScheduledSweep()
        self.bus = bus
        self.start_block = start_block
        self.on_events = on_events  # callable(list[dict]) after commit (webhooks)
        from contracts.artifacts import load_artifact

        # the engine's events, its extension's (IRepoMigration: a repo moved to a successor engine,
        # contracts/UPGRADES.md) and its shortfall ledger's (ShortfallCollected, ...Agreed, ShortfallSettled)
        ledger_abi = load_artifact("RepoShortfallLedger").abi
        migration_abi = load_artifact("IRepoMigration").abi
        self._abis: dict[bytes, dict[str, Any]] = {
            event_topic(abi): abi
            for abi in [*market.engine.abi, *migration_abi, *ledger_abi]
            if abi.get("type") == "event"
        }
        # the position NFT's ERC-721 Transfer (its topic is ERC-20's: told apart by the emitting address)
        self._position_transfer = next(
            a for a in load_artifact("RepoPosition").abi if a.get("type") == "event" and a["name"] == "Transfer"
        )
        self._lock = threading.Lock()
        self.wake = threading.Event()  # set by the relayer of this process when it sees a transaction mined
        self.expiry = ExpirySweep(
            lambda number: int(market.w3.eth.get_block(number)["timestamp"]),
            lambda signer, nonce, number: bool(market.view(market.engine, "nonceUsed")(signer, nonce, block=number)),
        )
        self.bell = Bell()  # rung when the cursor moves: ``…/wait`` of this process answers at once
        self.announce: Callable[[], None] | None = None  # and tells other processes' waiters (gateway.background)

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                applied = self.run_once()
                backoff.reset()
            except Exception as exc:
                if not is_outage(exc):
                    logger.exception("indexer tick failed; retrying")
                elif backoff.current == 0.0:
                    logger.warning("indexer: the node is out of reach (%s); retrying with backoff", exc)
                if is_outage(exc):
                    stop.wait(backoff.next())
                applied = 0
            if not applied and not stop.is_set():
                self.wake.wait(idle_seconds(self.market.heads, self.market.settings.indexer_poll_seconds))
                self.wake.clear()

    def cursor(self, session: Session) -> int:
        row = session.get(IndexerCursor, CURSOR)
        return row.last_block if row is not None else self.start_block - 1

    def run_once(self) -> int:
        """Index one range of blocks; return how many new events were applied. Chain reads happen before the
        database transaction (SQLite holds its write lock for a whole transaction)."""
        with self._lock:
            w3 = self.market.w3
            with self.sessions() as session:
                last = self.cursor(session)
            head = self.market.head_number() - self.market.settings.finality_confirmations
            if head <= last:  # idle: the last block may still owe its sweep (a busy tick may have skipped it)
                self._sweep_alone(last)
                return 0
            end = min(head, last + MAX_RANGE)
            position = self.market.position.address
            sources = [self.market.engine.address, self.market.shortfall_ledger.address, position]
            logs = w3.eth.get_logs({"address": sources, "fromBlock": last + 1, "toBlock": end})
            times: dict[int, int] = {}
            decoded_logs: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
            states: dict[int, dict[str, Any]] = {}
            for log in logs:
                if str(log["address"]).lower() == position.lower():
                    transferred = self._position_transferred(log)
                    if transferred is None:
                        continue
                    decoded, args = transferred
                else:
                    abi = self._abis.get(bytes(log["topics"][0]))
                    if abi is None:
                        continue
                    decoded = dict(get_event_data(w3.codec, abi, log))
                    args = {k: _jsonable(v) for k, v in decoded["args"].items()}
                number = int(log["blockNumber"])
                if number not in times:
                    times[number] = int(w3.eth.get_block(number)["timestamp"])
                decoded_logs.append((log, dict(decoded), args))
                if "repoId" in args and int(args["repoId"]) not in states:
                    # the state after ``end``, the block the cursor will name: never ahead of what reads claim
                    states[int(args["repoId"])] = self._read_chain(int(args["repoId"]), end)
            spent = self._spent_handed_out(decoded_logs, end)
            verdicts = self.expiry.verdicts(self.sessions, end, times)
            due = self._gc_due(verdicts)
            published: list[tuple[dict[str, Any], set[uuid.UUID]]] = []
            with self.sessions() as session:
                parties.carried_out(session, spent)
                self.expiry.sweep(session, verdicts)  # after: a step carried out in time is not expired
                gc_scheduled.open_due(session, self.market, due)
                units = wire.EventUnits(session)
                for log, decoded, args in decoded_logs:
                    block_hash = "0x" + bytes(log["blockHash"]).hex()
                    exists = session.execute(
                        select(RepoEvent.id).where(
                            RepoEvent.block_hash == block_hash, RepoEvent.log_index == int(log["logIndex"])
                        )
                    ).first()
                    if exists is not None:
                        continue
                    number = int(log["blockNumber"])
                    repo_id = int(args["repoId"]) if "repoId" in args else None
                    event = RepoEvent(
                        repo_id=repo_id,
                        name=str(decoded["event"]),
                        args=args,
                        block_number=number,
                        block_hash=block_hash,
                        block_time=times[number],
                        log_index=int(log["logIndex"]),
                        tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                    )
                    session.add(event)
                    session.flush()
                    if event.name in claims.EVENTS:
                        claims.apply(session, event)
                    if event.name in (REPURCHASED, TERMINATION_NOTICED) and repo_id is not None:
                        _audit_closing(session, event)
                    if repo_id is not None:
                        state = states[repo_id]
                        if event.name == "RepoOpened":
                            # getRepo's buyer is the position's holder; the original lender is the event's
                            state = dict(state, buyer=str(args["buyer"]))
                        record = self._apply(session, repo_id, state, number)
                        gc_credit.repo_ended(session, repo_id, record.status)
                        # a position transfer also tells the holder it left (the record names the one after)
                        former = self._org_of(session, str(args["from"])) if "from" in args else None
                        orgs = {o for o in (record.seller_org_id, record.holder_org_id, former) if o is not None}
                        published.append((self.public(event, units), orgs))
                row = session.get(IndexerCursor, CURSOR)
                if row is None:
                    session.add(IndexerCursor(name=CURSOR, last_block=end))
                else:
                    row.last_block = end
                session.commit()
            self.bell.ring()
            if self.announce is not None:
                self.announce()
        for event_body, orgs in published:
            if self.bus is not None:
                self.bus.publish(event_body, orgs)
        if self.on_events is not None and published:
            self.on_events(published)
        return max(len(published), 1)

    def _sweep_alone(self, last: int) -> None:
        verdicts = self.expiry.verdicts(self.sessions, last, {})
        if verdicts is None:
            return
        due = self._gc_due(verdicts)
        with self.sessions() as session:
            self.expiry.sweep(session, verdicts)
            gc_scheduled.open_due(session, self.market, due)
            session.commit()  # an expiry's relayed message rings the HTTP workers' tails itself (relayed.record)

    def _gc_due(self, verdicts: Verdicts | None) -> dict[int, FillPlan]:
        """GC fills whose opening day has begun at the sweep's chain time, planned (chain reads, before the write)."""
        if verdicts is None:
            return {}
        return self.gc_scheduled.plan_due(self.market, self.read_sessions, verdicts.chain_time)

    def _spent_handed_out(
        self, decoded_logs: list[tuple[Any, dict[str, Any], dict[str, Any]]], end: int
    ) -> list[uuid.UUID]:
        """The handed-out instructions a substitution or repurchase in these blocks may have carried out whose nonce
        the engine has spent by ``end``: exactly those (another one handed out on the same repo stays so). Read
        before the write transaction."""
        repos = {
            int(args["repoId"])
            for _, decoded, args in decoded_logs
            if decoded["event"] in parties.SENT_BY_THE_SELLER and "repoId" in args
        }
        if not repos:
            return []
        with self.sessions() as session:
            candidates = parties.handed_out(session, repos)
        used = self.market.view(self.market.engine, "nonceUsed")
        spent: list[uuid.UUID] = []
        for candidate in candidates:
            try:
                if used(to_checksum_address(candidate.signer), int(candidate.nonce), block=end):
                    spent.append(candidate.id)
            except Exception as exc:  # one instruction's read must not stop indexing for everyone: asked next tick
                if is_outage(exc):
                    raise
                logger.warning("indexer: nonce of instruction %s not read: %s", candidate.id, exc)
        return spent

    def _position_transferred(self, log: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A transfer of a live repo's position NFT from one holder to another as a ``PositionTransferred`` event
        (the new holder is the one the engine pays at repurchase); mint and burn are the engine's own opening and
        closing, already told by its events: None."""
        if bytes(log["topics"][0]) != event_topic(self._position_transfer) or len(log["topics"]) != 4:
            return None
        decoded = get_event_data(self.market.w3.codec, self._position_transfer, log)
        zero = "0x" + "00" * 20
        sender, receiver = str(decoded["args"]["from"]), str(decoded["args"]["to"])
        if zero in (sender.lower(), receiver.lower()):
            return None
        args = {"repoId": str(int(decoded["args"]["tokenId"])), "from": sender, "to": receiver}
        return {"event": "PositionTransferred", "args": args}, args

    @staticmethod
    def units(session: Session) -> wire.EventUnits:
        """What ``public`` needs to convert events read in ``session``."""
        return wire.EventUnits(session)

    @staticmethod
    def public(event: RepoEvent, units: wire.EventUnits) -> dict[str, Any]:
        """The event in the API's units (``gateway.indexer.wire``)."""
        return wire.public(event, units)

    def _org_of(self, session: Session, address: str | None) -> uuid.UUID | None:
        if not address:
            return None
        return session.execute(_ORG_OF_WALLET, {"address": address}).scalar_one_or_none()

    def _read_chain(self, repo_id: int, block: int | str = "latest") -> dict[str, Any]:
        """The repo's on-chain state after ``block`` as column values (the holder is the position's owner; the
        engine's ``buyer`` is the holder too, so the original buyer comes from ``RepoOpened`` in ``run_once``)."""
        from gateway.settlement.service import read_repo

        engine = self.market.engine
        repo = read_repo(self.market, repo_id, block)
        s = repo.state
        closed_out = s.status is RepoStatus.CLOSED_OUT
        shortfall = int(self.market.view(engine, "shortfallOf")(repo_id, block=block)) if closed_out else 0
        return {
            "seller": str(s.seller),
            "buyer": str(s.buyer),
            "holder": repo.holder,
            "cash_token": str(s.cash_token),
            "collateral_token": str(s.collateral_token),
            "purchase_price": str(s.purchase_price),
            "rate": str(s.rate),
            "day_count_basis": int(s.day_count_basis),
            "haircut_bps": int(s.haircut_bps),
            "status": s.status.value,
            "opened_at": int(s.opened_at),
            "maturity": int(s.maturity),
            "period_start": int(s.period_start),
            "cure_deadline": int(s.cure_deadline),
            "crystallized_pd": str(s.crystallized_pd),
            "collateral_amount": str(s.collateral_amount),
            "cash_margin": str(s.cash_margin),
            "min_transfer_amount": str(s.min_transfer_amount),
            "margin_call_outstanding": str(s.margin_call_outstanding),
            "shortfall": str(shortfall),
        }

    def _apply(self, session: Session, repo_id: int, state: dict[str, Any], block: int) -> RepoRecord:
        values = dict(state, updated_block=block)
        record = session.get(RepoRecord, repo_id)
        if record is not None:  # the original buyer never changes; the chain's buyer word follows the holder
            values["buyer"] = record.buyer
        if values["holder"] is None:  # burned position: the last known holder stays
            values["holder"] = record.holder if record is not None else values["buyer"]
        if record is None:
            record = RepoRecord(repo_id=repo_id, **values)
            trade = session.execute(select(Trade).where(Trade.repo_id == repo_id)).scalar_one_or_none()
            record.trade_id = trade.id if trade is not None else None
            session.add(record)
        else:
            for key, value in values.items():
                setattr(record, key, value)
        record.seller_org_id = self._org_of(session, record.seller)
        record.holder_org_id = self._org_of(session, record.holder)
        session.flush()
        return record

    def reconcile(self, repo_id: int | None = None) -> list[dict[str, Any]]:
        """Re-read repos from the chain; return what differed from the database. The chain is read before the
        write transaction that applies what it said opens (gateway.chain.guard)."""
        diffs: list[dict[str, Any]] = []
        with self._lock:
            if repo_id is not None:
                ids = [repo_id]
            else:
                with self.sessions() as session:
                    ids = list(session.scalars(select(RepoRecord.repo_id)))
            head = int(self.market.w3.eth.block_number)
            states = {rid: self._read_chain(rid, head) for rid in ids}
            with self.sessions() as session:
                for rid in ids:
                    before = session.get(RepoRecord, rid)
                    fields = ("status", "collateral_amount", "cash_margin", "rate", "holder")
                    snapshot = {} if before is None else {c: getattr(before, c) for c in fields}
                    after = self._apply(session, rid, states[rid], head)
                    changed = {
                        c: {"db": snapshot.get(c), "chain": getattr(after, c)}
                        for c in fields
                        if snapshot.get(c) != getattr(after, c)
                    }
                    if changed:
                        diffs.append({"repo_id": rid, "changes": changed})
                session.commit()
        return diffs


def _audit_closing(session: Session, event: RepoEvent) -> None:
    """A repurchase or a termination notice as final on chain, on the audit chain (and so the surveillance feed)
    under the repo's id beside its ``repo.opened``: a self-held party sends its own repurchase or termination, which
    the gateway never saw asked."""
    if event.name == REPURCHASED:
        action = "repo.repurchased"
        change = {"tx_hash": event.tx_hash, "early": event.args.get("early"), "holder": event.args.get("holder")}
    else:
        action = "repo.termination_noticed"
        change = {"tx_hash": event.tx_hash, "by": event.args.get("by"), "maturity": event.args.get("maturity")}
    audit_log.append(
        session, actor="system:indexer", action=action, object_type="repo", object_id=str(event.repo_id), change=change
    )
