"""The surveillance service's loop: read the gateway's activity feed after its cursor, score each agreed trade
(``Scorer``), keep the cursor and the alerts in its state file in one step, then send the alerts to the gateway,
which stores them and opens cases. Everything goes over HTTPS with one API key of the operator's organization that
holds ``surveillance:feed`` and ``surveillance:alert`` and nothing else; no database or key of the gateway's.

On start it first replays the feed up to its cursor without alerting, so its rules' tape and the model's features
hold the same history as before the restart; then it continues after the cursor."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from prometheus_client import Counter, Gauge

from gateway.surveillance.scorer import Scorer
from gateway.surveillance.store import Store

logger = logging.getLogger(__name__)

BATCH = 500
ALERTS = Counter("reponet_surveillance_alerts_total", "alerts raised, by detector", ["detector"])
LAG = Gauge("reponet_surveillance_lag_seconds", "age of the newest feed item handled when it was handled")


class Watcher:
    def __init__(
        self,
        http: httpx.Client,
        store: Store,
        scorer: Scorer,
        api_key: Callable[[], str],
        fence: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.http = http
        self.fence = fence  # the lease's X-Lease-Token: the gateway refuses a stale leader's alert (409)
        self.store = store
        self.scorer = scorer
        self.api_key = api_key  # re-read on each call: a grant rotates the key in the config file

    def _page(self, after: int) -> list[dict[str, Any]]:
        answer = self.http.get(
            "/v1/surveillance/feed", params={"after": after, "limit": BATCH}, headers={"X-API-Key": self.api_key()}
        )
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()["data"]
        return data

    def replay(self) -> int:
        """Rebuild the scorer's history from the feed up to the saved cursor; returns the items replayed."""
        target, after, count = self.store.cursor(), 0, 0
        while after < target:
            page = [i for i in self._page(after) if i["sequence"] <= target]
            if not page:
                break
            for item in page:
                self.scorer.handle(item)
            after, count = page[-1]["sequence"], count + len(page)
        return count

    def tick(self) -> int:
        """One page of the feed after the cursor; returns how many items it held."""
        page = self._page(self.store.cursor())
        alerts = [a.body() for item in page for a in self.scorer.handle(item)]
        if page:
            self.store.advance(page[-1]["sequence"], alerts)
            LAG.set(max(0.0, time.time() - _seconds(page[-1]["at"])))
        self.flush()
        return len(page)

    def flush(self) -> None:
        """Send the alerts the gateway has not accepted yet, oldest first; stop at the first refusal (next tick)."""
        for body in self.store.unsent():
            try:
                answer = self.http.post(
                    "/v1/surveillance/alerts", json=body, headers={"X-API-Key": self.api_key(), **self.fence()}
                )
            except httpx.HTTPError as exc:
                logger.warning("surveillance: alert %s not sent: %s", body["key"], exc)
                return
            if answer.status_code not in (200, 201):
                logger.warning("surveillance: alert %s: %s %s", body["key"], answer.status_code, answer.text[:200])
                return
            self.store.sent(body["key"])
            ALERTS.labels(body["detector"]).inc()
            logger.info("surveillance: alert %s raised (case %s)", body["key"], answer.json()["case_id"])

    def run(self, stop: threading.Event, interval: float) -> None:
        replayed = self.replay()
        logger.warning("surveillance: resumed after feed item %d (%d replayed)", self.store.cursor(), replayed)
        while not stop.is_set():
            try:
                full = self.tick() >= BATCH
            except httpx.HTTPError as exc:
                logger.warning("surveillance: feed unavailable: %s", exc)
                full = False
            if not full:
                stop.wait(interval)


def _seconds(at: str) -> float:
    return datetime.fromisoformat(at).timestamp()
