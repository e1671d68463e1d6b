"""One list shape for every list endpoint: ``{data, next_cursor}``, newest first unless ``order=oldest``.

The cursor is opaque (the last row's sort key, not an offset), so a page does not shift when rows are added while
a client walks the list; ``next_cursor`` is null on the last page. Routes take the parameters as
``gateway.api.deps.PageQuery``."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, TypeDecorator, and_, bindparam, or_
from sqlalchemy.orm import InstrumentedAttribute

from gateway.exceptions import InvalidCursor

T = TypeVar("T")
MAX_LIMIT = 200


class Order(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int
    order: Order


def encode_cursor(values: Sequence[object]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parsers: Sequence[Callable[[str], Any]]) -> list[Any]:
    """The key values a cursor carries, each parsed as its column's type; anything else is the client's mistake."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(parsers) or not all(isinstance(v, str) for v in raw):
            raise ValueError("shape")
        return [parse(value) for parse, value in zip(parsers, raw, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("invalid cursor: pass the next_cursor of a previous page unchanged") from None


def _aware(text: str) -> datetime:
    """A cursor's time: our cursors carry UTC offsets, and a naive time cannot be compared with stored ones."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a cursor's time carries its UTC offset")
    return value


def _parser(column: InstrumentedAttribute[Any]) -> Callable[[str], Any]:
    kind = column.type
    # a decorated type (UTC datetimes) says ``object``; the type it decorates says what its values are
    python_type = kind.impl_instance.python_type if isinstance(kind, TypeDecorator) else kind.python_type
    if python_type is datetime:
        return _aware
    if python_type is uuid.UUID:
        return uuid.UUID
    if python_type is int:
        return int
    return str


def keyset(query: Select[Any], params: PageParams, *columns: InstrumentedAttribute[Any]) -> Select[Any]:
    """``query`` ordered by ``columns`` (newest first unless asked), after the cursor, one row more than a page
    (the extra row says whether a next page exists)."""
    newest = params.order is Order.NEWEST
    query = _ordered(query, newest, columns).limit(params.limit + 1)
    if params.cursor is None:
        return query
    return query.where(_after(columns, decode_cursor(params.cursor, [_parser(c) for c in columns]), newest))


def keyset_statement(
    query: Select[Any], newest: bool, after: bool, *columns: InstrumentedAttribute[Any]
) -> Select[Any]:
    """``keyset`` with the limit and the cursor's values left as bound parameters (``keyset_parameters`` gives
    them): one statement per shape (order, from a cursor or not) serves every page. A hot list keeps its statements
    and runs them with new values, rather than building, compiling and adapting a new statement per request."""
    query = _ordered(query, newest, columns).limit(bindparam("page_limit"))
    if not after:
        return query
    return query.where(
        _after(columns, [bindparam(f"page_after_{i}", type_=c.type) for i, c in enumerate(columns)], newest)
    )


def _ordered(query: Select[Any], newest: bool, columns: Sequence[InstrumentedAttribute[Any]]) -> Select[Any]:
    return query.order_by(*[c.desc() if newest else c.asc() for c in columns])


def _after(columns: Sequence[InstrumentedAttribute[Any]], values: Sequence[Any], newest: bool) -> ColumnElement[bool]:
    """Rows beyond the key ``values`` in the list's order (values, or parameters standing for them)."""
    clauses = []
    for i, column in enumerate(columns):
        equal = [columns[j] == values[j] for j in range(i)]
        clauses.append(and_(*equal, column < values[i] if newest else column > values[i]))
    return or_(*clauses)


def keyset_parameters(params: PageParams, *columns: InstrumentedAttribute[Any]) -> dict[str, Any]:
    """The values of a ``keyset_statement``'s parameters for this page: one row more than the page, and the cursor's
    key (an invalid cursor is the client's mistake, as in ``keyset``)."""
    out: dict[str, Any] = {"page_limit": params.limit + 1}
    if params.cursor is not None:
        values = decode_cursor(params.cursor, [_parser(c) for c in columns])
        out.update({f"page_after_{i}": value for i, value in enumerate(values)})
    return out


def finish(rows: Sequence[T], params: PageParams, key: Callable[[T], Sequence[object]]) -> tuple[list[T], str | None]:
    """The page and the cursor of the next one (null on the last page)."""
    page = list(rows[: params.limit])
    more = len(rows) > params.limit
    return page, encode_cursor(key(page[-1])) if more and page else None


def in_memory(
    items: Sequence[T], params: PageParams, key: Callable[[T], tuple[str, ...]]
) -> tuple[list[T], str | None]:
    """The same paging over a list already in memory (small sets computed rather than queried); ``key`` gives
    string sort keys, newest being the largest."""
    newest = params.order is Order.NEWEST
    ordered = sorted(items, key=key, reverse=newest)
    if params.cursor is not None and ordered:
        after = tuple(decode_cursor(params.cursor, [str] * len(key(ordered[0]))))
        ordered = [i for i in ordered if (key(i) < after if newest else key(i) > after)]
    return finish(ordered, params, key)
