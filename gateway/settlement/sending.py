"""Sending a settlement's step: a nonce, a signature (the gateway's own account, or the custody door for a member's
wallet) and the broadcast; a refused transaction gives its nonce back or is filled.

Nonces. For each sending account the next nonce lives in ``sender_nonces``. A step gets its nonce and its signed
raw transaction in one committed database transaction *before* it is broadcast, so:

- concurrent allocation cannot hand out a nonce twice (compare-and-swap on the row, and one lock per process);
- after a restart the signed raw transaction is still there and is broadcast again: the same bytes have the same
  hash, so a transaction the node already has is not doubled, and one it lost (dropped from the pool) is resent;
- a nonce is never skipped: a transaction the node refuses outright gives its nonce back when no later one was
  taken, and is otherwise replaced by a zero-value filler transaction with the same nonce.

No dry run. A step is sent without one: an ``eth_call`` of every step doubled the node's work per settlement (an
``open`` is its costliest execution), to guard against what is rare, because a party's steps are already refused
at request time when the engine would refuse them (``step-would-revert``). Every step carries the configured
``gas_limit``: the largest step (``open``) uses a third of the default, and an estimate would cost the node three
or four executions of the step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from web3 import Web3

from gateway.chain.outage import is_outage, node_words
from gateway.custody import door
from gateway.exceptions import GatewayError, UnknownSender
from gateway.keys.provider import KeyProvider
from gateway.settlement.market import Market
from gateway.settlement_records.models import ChainStep, SenderNonce, Settlement, StepStatus
from gateway.settlement_records.steps import StepSpec, enqueue

logger = logging.getLogger(__name__)

KNOWN = ("already known", "known transaction", "already imported", "alreadyknown")
GAS_PRICE_SECONDS = 5.0


def _now() -> datetime:
    return datetime.now(UTC)


class Sending:
    """The relayer's sending half: its nonce lock, gas price and the node's pending counts read this tick."""

    def __init__(self, market: Market, keys: KeyProvider) -> None:
        self.market = market
        self.w3 = market.w3
        self.keys = keys
        self._nonce_lock = threading.Lock()
        self._broadcast_hook: Callable[[bytes], None] | None = None  # tests: simulate a crash after signing
        self._gas_price: tuple[int, float] | None = None
        self._pending: dict[str, int] = {}  # sender -> the node's pending count read this tick

    def _own_account(self, step: ChainStep) -> LocalAccount:
        """The gateway's account for ``step.sender`` (relayer, issuer, feeder): each sends with its own nonces."""
        account = self.market.signer(step.sender)
        if account is None:
            raise UnknownSender(f"{step.sender} is neither a custodial wallet nor one of the gateway's accounts")
        return account

    def _sign(self, session: Session, step: ChainStep, tx: dict[str, Any]) -> SignedTransaction:
        """The gateway's own accounts sign their steps; a member's wallet's only through the custody door."""
        if step.sender_wallet_id is None:
            signed: SignedTransaction = self._own_account(step).sign_transaction(tx)
            return signed
        return door.sign_step(
            self.keys, session, step=step, nonce=tx["nonce"], gas_price=tx["gasPrice"], chain_id=tx["chainId"]
        )

    def _send(self, session: Session, settlement: Settlement, steps: list[ChainStep], step: ChainStep) -> int:
        try:
            if step.sender_wallet_id is None:
                self._own_account(step)
            else:
                door.check_step(session, step)
        except GatewayError as exc:  # no consent, or the member's KYC lapsed: the step fails, nothing is sent
            step.status, step.error = StepStatus.FAILED.value, str(exc)[:2000]
            session.commit()
            return 1
        session.commit()
        step.gas = self.market.settings.gas_limit
        gas_price = self.gas_price()
        pending = self._pending.pop(step.sender) if step.sender in self._pending else self._pending_count(step.sender)
        chain_id = self.market.chain_id  # asked of the node once, and never inside the transaction below
        with self._nonce_lock:
            nonce = self._allocate(session, step.sender, pending)
            tx: dict[str, Any] = {
                "to": step.to,
                "data": step.data,
                "value": 0,
                "gas": step.gas,
                "gasPrice": gas_price,
                "nonce": nonce,
                "chainId": chain_id,
            }
            signed = self._sign(session, step, tx)
            # Compare-and-swap on the step's status: a second relayer that picked the same step loses here,
            # and its nonce allocation rolls back with it.
            sent = {
                "nonce": nonce,
                "raw": "0x" + bytes(signed.raw_transaction).hex(),
                "tx_hash": "0x" + bytes(signed.hash).hex(),
                "status": StepStatus.SENT.value,
                "sent_at": _now(),
                "gas": step.gas,
            }
            claimed = session.execute(
                update(ChainStep)
                .where(ChainStep.id == step.id, ChainStep.status == StepStatus.QUEUED.value)
                .values(**sent, attempts=ChainStep.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if claimed != 1:
                session.rollback()
                return 0
            session.commit()  # durable before the node sees it
            # What was written, without reading it back: a refresh would open a write transaction (SQLite's write
            # lock) and hold it through the broadcast.
            for key, value in {**sent, "attempts": step.attempts + 1}.items():
                set_committed_value(step, key, value)
        self._broadcast(session, step)
        return 1

    def gas_price(self) -> int:
        """The node's gas price, asked at most every few seconds (permissioned chains charge none)."""
        now = time.monotonic()
        if self._gas_price is None or now - self._gas_price[1] > GAS_PRICE_SECONDS:
            self._gas_price = (int(self.w3.eth.gas_price), now)
        return self._gas_price[0]

    def _allocate(self, session: Session, sender: str, pending: int) -> int:
        """The sender's next nonce: compare-and-swap on its row, so two allocators never get the same one.
        ``pending`` is the node's count of the sender's transactions (a floor, read before the lock)."""
        while True:
            row = session.get(SenderNonce, sender, populate_existing=True)
            if row is None:
                session.add(SenderNonce(address=sender, next_nonce=pending + 1))
                session.flush()
                return pending
            nonce = max(row.next_nonce, pending)
            swapped = session.execute(
                update(SenderNonce)
                .where(SenderNonce.address == sender, SenderNonce.next_nonce == row.next_nonce)
                .values(next_nonce=nonce + 1)
            ).rowcount  # type: ignore[attr-defined]
            if swapped == 1:
                session.expire(row)
                return nonce

    def _broadcast(self, session: Session, step: ChainStep) -> None:
        assert step.raw is not None
        raw = bytes.fromhex(step.raw[2:])
        try:
            if self._broadcast_hook is not None:
                self._broadcast_hook(raw)
            self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:
            if is_outage(exc):
                # No answer is no refusal: the step stays sent with its signed bytes, and the receipt check sends
                # the same bytes again once the node answers (it may have them already).
                logger.warning("broadcast of %s waits for the node: %s", step.tx_hash, exc)
                return
            words = node_words(exc)
            message = words.lower()
            if any(k in message for k in KNOWN) or "nonce too low" in message:
                return  # the node has it, or it is mined: the receipt check decides
            self._give_back(session, step, words)

    def _give_back(self, session: Session, step: ChainStep, reason: str) -> None:
        """The node refused the transaction: return its nonce, or fill it so later nonces are not stuck."""
        assert step.nonce is not None
        step.status = StepStatus.FAILED.value
        step.error = f"refused by the node: {reason}"[:2000]
        returned = session.execute(
            update(SenderNonce)
            .where(SenderNonce.address == step.sender, SenderNonce.next_nonce == step.nonce + 1)
            .values(next_nonce=step.nonce)
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
        if returned != 1:
            self._fill(session, step)

    def _fill(self, session: Session, step: ChainStep) -> None:
        """A zero-value transfer to itself with the refused step's nonce (closes the gap)."""
        assert step.nonce is not None
        tx: dict[str, Any] = {
            "to": step.sender,
            "value": 0,
            "gas": 21_000,
            "gasPrice": self.gas_price(),
            "nonce": step.nonce,
            "chainId": self.market.chain_id,
        }
        if step.sender_wallet_id is None:
            signed = self._own_account(step).sign_transaction(tx)
        else:
            signed = door.sign_filler(
                self.keys, session, step=step, gas_price=tx["gasPrice"], chain_id=self.market.chain_id
            )
        filler = enqueue(
            session,
            kind="nonce_filler",
            requested_by="system:relayer",
            steps=[StepSpec(label="filler", to=step.sender, data="0x", sender=step.sender)],
        )
        session.flush()
        row = session.scalars(select(ChainStep).where(ChainStep.settlement_id == filler.id)).one()
        row.sender_wallet_id, row.consent_id = step.sender_wallet_id, step.consent_id
        row.nonce, row.status, row.sent_at = step.nonce, StepStatus.SENT.value, _now()
        row.raw = "0x" + bytes(signed.raw_transaction).hex()
        row.tx_hash = "0x" + bytes(signed.hash).hex()
        session.commit()
        try:
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception:
            logger.exception("nonce filler %s of %s refused", step.nonce, step.sender)

    def _pending_count(self, sender: str) -> int:
        return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(sender), "pending"))
