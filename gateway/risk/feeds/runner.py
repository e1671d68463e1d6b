"""The price feed's round: read every source, combine (gateway.risk.feeds.combine), post each new price through
the gateway's price route (``POST /v1/operator/prices``, with its own bound and four eyes for a large move), and
raise alarms (logged, counted in Prometheus, answered to the caller)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
from prometheus_client import Counter

from gateway.risk.feeds.combine import Alarm, FeedState, Guards, combine
from gateway.risk.feeds.sources import Pair, Quote, Source, SourceUnavailable

logger = logging.getLogger(__name__)
PLACES = Decimal("0.00000001")  # the price route takes up to 8 decimal places of percent of par

ALARMS = Counter("reponet_risk_feed_alarms_total", "price feed alarms", ["kind", "source"])
POSTED = Counter("reponet_risk_feed_prices_posted_total", "combined prices the gateway took", ["status"])


@dataclass(frozen=True)
class Posted:
    pair: Pair
    percent: Decimal
    status: str  # the gateway's: posted | awaiting_confirmation; or refused
    detail: str


class GatewayPoster:
    """Posts a price through the gateway's own route, as the operator credential it is given."""

    def __init__(self, client: httpx.Client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def post(self, pair: Pair, percent: Decimal, round_at: float) -> Posted:
        text = format(percent, "f")
        key = hashlib.sha256(f"feed:{pair.asset}:{pair.quote}:{text}:{int(round_at)}".encode()).hexdigest()[:48]
        body = {"asset": pair.asset, "quote": pair.quote, "price_percent_of_par": text}
        try:
            answer = self.client.post(
                "/v1/operator/prices", json=body, headers={**self.headers, "Idempotency-Key": key}
            )
        except httpx.HTTPError as exc:
            return Posted(pair, percent, "unsent", str(exc))
        if answer.status_code == 202:
            return Posted(pair, percent, str(answer.json()["status"]), answer.json()["id"])
        return Posted(pair, percent, "refused", f"{answer.status_code} {answer.text[:200]}")


@dataclass(frozen=True)
class Round:
    posted: list[Posted]
    medians: dict[Pair, Decimal]
    alarms: list[Alarm]


class FeedRunner:
    def __init__(
        self,
        sources: list[Source],
        poster: GatewayPoster,
        guards: Guards | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sources = sources
        self.poster = poster
        self.guards = guards or Guards()
        self.clock = clock
        self.state = FeedState()

    def round(self) -> Round:
        quotes: dict[str, list[Quote]] = {}
        unreadable: dict[str, str] = {}
        for source in self.sources:
            try:
                quotes[source.name] = source.read()
            except SourceUnavailable as exc:
                unreadable[source.name] = str(exc)
        now = self.clock()
        decision = combine(quotes, unreadable, now=now, guards=self.guards, state=self.state)
        for alarm in decision.alarms:
            ALARMS.labels(alarm.kind.value, alarm.source or "").inc()
            logger.warning(
                "price feed alarm %s %s %s: %s", alarm.kind.value, alarm.source or "-", alarm.pair, alarm.detail
            )
        posted = []
        for pair, price in decision.prices.items():
            answer = self.poster.post(pair, price.quantize(PLACES).normalize(), now)
            POSTED.labels(answer.status).inc()
            if answer.status in ("posted", "awaiting_confirmation"):
                self.state.posted[pair] = price  # a large move waits for a person; the feed does not post it again
            else:
                logger.warning("price feed: %s %s not posted: %s", pair, price, answer.detail)
            posted.append(answer)
        return Round(posted=posted, medians=decision.medians, alarms=decision.alarms)

    def run(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                self.round()
            except Exception:  # the loop survives a bad round
                logger.exception("price feed: round failed")
            stop.wait(interval)
