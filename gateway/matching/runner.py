"""The matching service's loop (``reponet match run``): the engine in its own process, reaching the gateway over
HTTPS with its service key only (scope ``matching:run``; no database, no key of the gateway's), like
``reponet surveillance run``.

``GET /v1/gc/instructions?after=N`` answers members' orders, cancellations and credit limits in the order the
gateway accepted them (``data`` + ``next_cursor``), and ``POST /v1/gc/outcomes`` takes the engine's answer to one
instruction (its sequence makes the post idempotent). The gateway records outcomes (``gateway.matching.outcomes``)
and opens each fill's repo through the outbox (``gateway.matching.settle``). On start the service replays every
instruction from the first: the engine is a pure state machine, so it rebuilds the same book, and the gateway
ignores the outcomes it already has. Not yet: a lease (one matcher at a time)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Literal, NotRequired, TypedDict

import httpx

from gateway.matching.book import Book
from gateway.matching.exceptions import MatchingError
from gateway.matching.instruments import Instrument, Tenor
from gateway.matching.orders import Cancellation, CancelReason, Order, Outcome, Side, TimeInForce

logger = logging.getLogger(__name__)
BATCH = 500


class OrderWire(TypedDict):
    order_id: str
    member: str
    basket_id: str
    tenor: str
    forward_start_days: int
    side: str
    tif: str
    rate: str
    size_units: str
    min_fill_units: str


class ReleaseWire(TypedDict):
    """A fill's amount no longer at risk between the two members (its repo ended, or it did not settle)."""

    lender: str
    borrower: str
    amount_units: str


class AmendWire(TypedDict):
    """An order's new, lower total size (its signature still bounds it; time priority is kept)."""

    size_units: str


class InstructionWire(TypedDict):
    sequence: int
    action: Literal["submit", "cancel", "expire", "end_session", "credit_limit", "release", "amend", "withdraw"]
    order: OrderWire | None
    order_id: str | None
    credit: dict[str, str] | None  # credit_limit: member, counterparty, limit_units
    release: NotRequired[ReleaseWire | None]
    amend: NotRequired[AmendWire | None]


class FillWire(TypedDict):
    sequence: int
    lend_order_id: str
    borrow_order_id: str
    rate: str
    amount_units: str


class OrderStateWire(TypedDict):
    order_id: str
    status: str
    filled_units: str | None
    cancel_reason: str | None


class OutcomeWire(TypedDict):
    sequence: int
    fills: list[FillWire]
    orders: list[OrderStateWire]
    refused: str | None


def order_from_wire(wire: OrderWire) -> Order:
    return Order(
        order_id=wire["order_id"],
        member=wire["member"],
        instrument=Instrument(wire["basket_id"], Tenor(wire["tenor"]), wire["forward_start_days"]),
        side=Side(wire["side"]),
        rate_e18=int(wire["rate"]),
        size_units=int(wire["size_units"]),
        min_fill_units=int(wire["min_fill_units"]),
        tif=TimeInForce(wire["tif"]),
    )


def apply(book: Book, instruction: InstructionWire, *, list_instruments: bool = False) -> OutcomeWire:
    """One instruction through the engine; a refused one (bad order, unknown id) is answered, not raised.
    ``list_instruments``: an order's instrument is opened on first sight (the gateway checked its basket and
    tenor) rather than refused as unknown."""
    answer = OutcomeWire(sequence=instruction["sequence"], fills=[], orders=[], refused=None)
    try:
        if instruction["action"] == "submit" and instruction["order"] is not None:
            order = order_from_wire(instruction["order"])
            if list_instruments:
                book.list_instrument(order.instrument)
            _outcome_to_wire(book.submit(order), answer)
        elif instruction["action"] == "cancel" and instruction["order_id"] is not None:
            _cancellations_to_wire([book.cancel(instruction["order_id"])], answer)
        elif instruction["action"] in ("expire", "withdraw") and instruction["order_id"] is not None:
            cancelled = book.cancel(instruction["order_id"])
            reason = CancelReason.SESSION_END if instruction["action"] == "expire" else CancelReason.CANNOT_SETTLE
            _cancellations_to_wire([dataclasses.replace(cancelled, reason=reason)], answer)
        elif instruction["action"] == "end_session":
            _cancellations_to_wire(book.end_session(), answer)
        elif instruction["action"] == "credit_limit" and instruction.get("credit") is not None:
            credit = instruction["credit"] or {}
            book.credit.set_limit(
                member=credit["member"], counterparty=credit["counterparty"], limit_units=int(credit["limit_units"])
            )
        elif instruction["action"] == "amend" and instruction["order_id"] and (amend := instruction.get("amend")):
            _outcome_to_wire(book.amend(instruction["order_id"], size_units=int(amend["size_units"])), answer)
        elif instruction["action"] == "release" and (release := instruction.get("release")) is not None:
            book.credit.release(
                lender=release["lender"], borrower=release["borrower"], amount_units=int(release["amount_units"])
            )
        else:
            answer["refused"] = f"malformed instruction {instruction['action']}"
    except MatchingError as exc:
        answer["refused"] = str(exc)
    return answer


def _outcome_to_wire(outcome: Outcome, answer: OutcomeWire) -> None:
    for fill in outcome.fills:
        answer["fills"].append(
            FillWire(
                sequence=fill.sequence,
                lend_order_id=fill.lend_order_id,
                borrow_order_id=fill.borrow_order_id,
                rate=str(fill.rate_e18),
                amount_units=str(fill.amount_units),
            )
        )
    answer["orders"].append(
        OrderStateWire(
            order_id=outcome.order_id,
            status=outcome.status.value,
            filled_units=str(outcome.filled_units),
            cancel_reason=None,
        )
    )
    _cancellations_to_wire(outcome.cancellations, answer)


def _cancellations_to_wire(cancellations: list[Cancellation] | tuple[Cancellation, ...], answer: OutcomeWire) -> None:
    for cancellation in cancellations:
        answer["orders"].append(
            OrderStateWire(
                order_id=cancellation.order_id,
                status="cancelled",
                filled_units=None,
                cancel_reason=cancellation.reason.value,
            )
        )


class Runner:
    """Polls the gateway's instructions, runs each through the engine in order, posts each answer."""

    def __init__(
        self, http: httpx.Client, book: Book, *, api_key: Callable[[], str], after: int = 0, wait: float = 0.0
    ) -> None:
        self.http, self.book, self.api_key, self.after = http, book, api_key, after
        self.wait = wait  # seconds the gateway may hold an empty read open for the next instruction (long poll)
        self.unsent: OutcomeWire | None = None  # an answer the gateway has not taken yet: sent again, never re-run

    def step(self) -> int:
        """One poll: how many instructions were applied."""
        headers = {"X-API-Key": self.api_key()}
        if self.unsent is not None:
            self.http.post("/v1/gc/outcomes", json=self.unsent, headers=headers).raise_for_status()
            self.after, self.unsent = self.unsent["sequence"], None
        params = {"after": self.after, "limit": BATCH, "wait": self.wait}
        page = self.http.get("/v1/gc/instructions", params=params, headers=headers)
        page.raise_for_status()
        instructions: list[InstructionWire] = page.json()["data"]
        for instruction in instructions:
            self.unsent = apply(self.book, instruction, list_instruments=True)
            self.http.post("/v1/gc/outcomes", json=self.unsent, headers=headers).raise_for_status()
            self.after, self.unsent = instruction["sequence"], None
        return len(instructions)

    def run(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                if self.step() or self.wait > 0:  # a long poll did the waiting
                    continue
            except httpx.HTTPError as exc:
                logger.warning("match: gateway unreachable or refused: %s", exc)
            stop.wait(interval)
