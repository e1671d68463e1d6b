"""The matching package's errors: one root, typed fields."""

from __future__ import annotations


class MatchingError(Exception):
    """Root of the matching package's errors."""


class InvalidOrder(MatchingError):
    """An order's fields break a rule of the book (size, minimum fill, rate, session)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OrderNotFound(MatchingError):
    """No live order with this id (never entered, or already filled, cancelled or expired)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no live order {order_id}")
        self.order_id = order_id


class DuplicateOrder(MatchingError):
    """An order id the book has already seen: ids are the member's idempotency key."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order id {order_id} already used")
        self.order_id = order_id
