"""Price sources for the feed: a CSV file drop, an HTTP JSON feed, and the manual entries typed into the gateway
API. Each answers the latest quote it holds per (asset, quote) pair, in percent of par with the time the source
says it observed it; a source that cannot be read raises ``SourceUnavailable`` (the feed counts it quiet)."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import httpx

from gateway.risk.exceptions import RiskError

logger = logging.getLogger(__name__)
MAX_FILE_BYTES = 1_000_000
MAX_ROWS = 10_000


class SourceUnavailable(RiskError):
    """A source could not be read this round (file unreadable, feed down, an answer not understood)."""


@dataclass(frozen=True)
class Pair:
    asset: str  # lower-case addresses
    quote: str


@dataclass(frozen=True)
class Quote:
    source: str
    pair: Pair
    percent: Decimal  # percent of par, the unit of the gateway's price route
    at: float  # Unix seconds the source observed it


class Source(Protocol):
    name: str

    def read(self) -> list[Quote]: ...


def _when(value: object) -> float:
    """Unix seconds, or an ISO 8601 time with its offset."""
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without an offset: {text}")
    return moment.timestamp()


def parse_quote(source: str, row: dict[str, Any]) -> Quote:
    """One row or object: ``asset``, ``quote``, ``price_percent_of_par``, ``timestamp``; ValueError if malformed."""
    try:
        percent = Decimal(str(row["price_percent_of_par"]).strip())
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(f"price_percent_of_par: {exc}") from None
    if not percent.is_finite() or percent <= 0 or percent > 100_000:
        raise ValueError(f"price_percent_of_par out of range: {percent}")
    asset, quote = str(row.get("asset", "")).strip().lower(), str(row.get("quote", "")).strip().lower()
    if len(asset) != 42 or len(quote) != 42 or not asset.startswith("0x") or not quote.startswith("0x"):
        raise ValueError("asset and quote: 0x addresses")
    return Quote(source=source, pair=Pair(asset, quote), percent=percent, at=_when(row.get("timestamp", "")))


def latest(quotes: list[Quote]) -> list[Quote]:
    """The newest quote per pair."""
    best: dict[Pair, Quote] = {}
    for q in quotes:
        if q.pair not in best or q.at > best[q.pair].at:
            best[q.pair] = q
    return list(best.values())


class CsvDropSource:
    """Every ``*.csv`` file in a drop directory (columns ``asset,quote,price_percent_of_par,timestamp``); a writer
    drops a file by renaming it into place. Malformed rows are skipped and logged; an unreadable directory is
    unavailable."""

    def __init__(self, directory: Path, name: str = "csv") -> None:
        self.directory = directory
        self.name = name

    def read(self) -> list[Quote]:
        try:
            files = sorted(self.directory.glob("*.csv"))
        except OSError as exc:
            raise SourceUnavailable(f"{self.name}: {exc}") from exc
        quotes: list[Quote] = []
        for path in files:
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    logger.warning(
                        "price feed %s: %s is larger than %d bytes, skipped", self.name, path, MAX_FILE_BYTES
                    )
                    continue
                with path.open(newline="") as handle:
                    for n, row in enumerate(csv.DictReader(handle)):
                        if n >= MAX_ROWS:
                            break
                        try:
                            quotes.append(parse_quote(self.name, row))
                        except ValueError as exc:
                            logger.warning("price feed %s: %s row %d skipped: %s", self.name, path.name, n + 2, exc)
            except OSError as exc:
                logger.warning("price feed %s: %s unreadable: %s", self.name, path, exc)
        return latest(quotes)


class HttpJsonSource:
    """A JSON feed: ``GET url`` answers ``{"prices": [{asset, quote, price_percent_of_par, timestamp}, ...]}``."""

    def __init__(self, url: str, name: str = "http", timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self.url = url
        self.name = name
        self.client = client or httpx.Client(timeout=timeout)

    def read(self) -> list[Quote]:
        try:
            answer = self.client.get(self.url)
            answer.raise_for_status()
            if len(answer.content) > MAX_FILE_BYTES:
                raise SourceUnavailable(f"{self.name}: answer larger than {MAX_FILE_BYTES} bytes")
            rows = answer.json()["prices"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SourceUnavailable(f"{self.name}: {exc}") from exc
        quotes = []
        for row in rows[:MAX_ROWS] if isinstance(rows, list) else []:
            try:
                quotes.append(parse_quote(self.name, row))
            except (ValueError, TypeError, AttributeError) as exc:
                logger.warning("price feed %s: entry skipped: %s", self.name, exc)
        return latest(quotes)


class ManualSource:
    """Manual entries typed into the gateway (``POST /v1/risk/price-entries``), read back from its API."""

    def __init__(
        self, client: httpx.Client, headers: dict[str, str], name: str = "manual", path: str = "/v1/risk/price-entries"
    ) -> None:
        self.client = client
        self.headers = headers
        self.name = name
        self.path = path  # the feed's key reads /v1/risk/feed/price-entries

    def read(self) -> list[Quote]:
        try:
            answer = self.client.get(self.path, headers=self.headers)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"{self.name}: {exc}") from exc
        if answer.status_code != 200:
            raise SourceUnavailable(f"{self.name}: {answer.status_code} {answer.text[:200]}")
        quotes = []
        for row in answer.json()["data"]:
            entered = datetime.fromisoformat(str(row["created_at"]).replace("Z", "+00:00"))
            quotes.append(parse_quote(self.name, {**row, "timestamp": entered.timestamp()}))
        return latest(quotes)
