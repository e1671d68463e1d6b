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

from gateway.risk.feeds.combine import Alarm, AlarmKind, FeedState, Guards, combine
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


FEED_PRICES = "/v1/risk/feed/prices"  # the feed key's door (scope prices:feed); a person's is /v1/operator/prices


class GatewayPoster:
    """Posts a price through the gateway's own route, as the credential it is given: the feed's machine key on
    ``FEED_PRICES`` (``reponet risk feed``), or an operator person's session on ``/v1/operator/prices``."""

    def __init__(
        self,
        client: httpx.Client,
        headers: dict[str, str],
        path: str = "/v1/operator/prices",
        fence: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.client = client
        self.headers = headers
        self.path = path
        self.fence = fence  # the feed's lease token: the gateway refuses a stale leader's price (409)

    def post(self, pair: Pair, percent: Decimal, round_at: float) -> Posted:
        text = format(percent, "f")
        key = hashlib.sha256(f"feed:{pair.asset}:{pair.quote}:{text}:{int(round_at)}".encode()).hexdigest()[:48]
        body = {"asset": pair.asset, "quote": pair.quote, "price_percent_of_par": text}
        try:
            answer = self.client.post(
                self.path, json=body, headers={**self.headers, **self.fence(), "Idempotency-Key": key}
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
        self._raised: set[tuple[AlarmKind, Pair | None, str | None]] = set()

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
        raised: set[tuple[AlarmKind, Pair | None, str | None]] = set()
        for alarm in decision.alarms:
            ALARMS.labels(alarm.kind.value, alarm.source or "").inc()
            raised.add((alarm.kind, alarm.pair, alarm.source))
            if (alarm.kind, alarm.pair, alarm.source) not in self._raised:  # logged when it starts, counted always
                logger.warning(
                    "price feed alarm %s %s %s: %s", alarm.kind.value, alarm.source or "-", alarm.pair, alarm.detail
                )
        self._raised = raised
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
