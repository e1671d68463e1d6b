"""``reponet risk feed``: the price feed as its own process (its machine key: ``reponet risk feed-grant``).

The feed's configuration is a JSON file (``reponet up`` writes ``<data dir>/risk/feed.json``): the gateway, the
feed's API key (scope ``prices:feed`` only: it posts combined prices and reads the manual entries, nothing else),
its sources (CSV drop directories, HTTP JSON feeds, the manual entries) and its guards. It re-reads the file each
round, so a grant or a new source takes effect without a restart; with no key yet it waits."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from gateway.config import Settings
from gateway.exceptions import InvalidRequest
from gateway.exit_status import ExitStatus
from gateway.leases.client import Lease
from gateway.risk.config_file import write_private_json
from gateway.risk.feeds.combine import Guards
from gateway.risk.feeds.runner import FEED_PRICES, FeedRunner, GatewayPoster
from gateway.risk.feeds.sources import CsvDropSource, HttpJsonSource, ManualSource, Source

logger = logging.getLogger(__name__)
FEED_ENTRIES = "/v1/risk/feed/price-entries"


@dataclass(frozen=True)
class FeedConfig:
    gateway_url: str
    ca_file: str | None
    api_key: str | None
    csv_dirs: list[str]
    http_urls: list[str]
    manual: bool
    guards: Guards

    @classmethod
    def read(cls, path: Path) -> FeedConfig:
        raw: dict[str, Any] = json.loads(path.read_text())
        known = {f.name for f in fields(Guards)}
        return cls(
            gateway_url=str(raw["gateway_url"]),
            ca_file=raw.get("ca_file"),
            api_key=raw.get("api_key"),
            csv_dirs=[str(d) for d in raw.get("csv_dirs", [])],
            http_urls=[str(u) for u in raw.get("http_urls", [])],
            manual=bool(raw.get("manual", True)),
            guards=Guards(**{k: v for k, v in raw.get("guards", {}).items() if k in known}),
        )


def write_feed_config(directory: Path, *, gateway_url: str, ca_file: Path) -> Path:
    """``reponet up``'s feed: a CSV drop directory beside it and the manual entries; one fresh source is enough on
    a one-operator network (raise ``min_sources`` when you add feeds). Kept if it exists."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "feed.json"
    if not path.exists():
        drop = directory / "prices"
        drop.mkdir(exist_ok=True)
        write_private_json(
            path,
            {
                "gateway_url": gateway_url,
                "ca_file": str(ca_file),
                "api_key": None,
                "csv_dirs": [str(drop.resolve())],
                "http_urls": [],
                "manual": True,
                "guards": {"max_age_seconds": 300, "min_sources": 1, "max_jump_bps": 500, "jump_rounds": 3},
            },
        )
    return path


def sources_of(config: FeedConfig, http: httpx.Client, headers: dict[str, str]) -> list[Source]:
    found: list[Source] = [CsvDropSource(Path(d), name=f"csv:{Path(d).name}") for d in config.csv_dirs]
    found += [HttpJsonSource(u, name=f"http:{n}") for n, u in enumerate(config.http_urls)]
    if config.manual:
        found.append(ManualSource(http, headers, path=FEED_ENTRIES))
    return found


class ConfiguredFeed:
    """The feed runner of the configuration as it stands: rebuilt (its memory of posted prices kept) when the
    file changes."""

    def __init__(self, path: Path, fence: Callable[[], dict[str, str]] = dict) -> None:
        self.path = path
        self.fence = fence  # the price-feed lease's X-Lease-Token on each posting
        self.runner: FeedRunner | None = None
        self.http: httpx.Client | None = None
        self._seen: FeedConfig | None = None

    def round(self) -> None:
        config = FeedConfig.read(self.path)
        if not config.api_key:
            logger.info("price feed: no key yet in %s (reponet risk feed-grant)", self.path)
            return
        if config != self._seen:
            self.close()
            self.http = httpx.Client(base_url=config.gateway_url, verify=config.ca_file or True, timeout=10)
            headers = {"X-API-Key": config.api_key}
            poster = GatewayPoster(self.http, headers, FEED_PRICES, self.fence)
            runner = FeedRunner(sources_of(config, self.http, headers), poster)
            runner.guards = config.guards
            if self.runner is not None:
                runner.state = self.runner.state
            self.runner, self._seen = runner, config
        assert self.runner is not None
        self.runner.round()

    def close(self) -> None:
        if self.http is not None:
            self.http.close()


def cmd_feed(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    path = Path(args.config) if args.config else settings.data_dir / "risk" / "feed.json"
    if not path.exists():
        raise InvalidRequest(f"{path} does not exist: `reponet up` writes it, or pass --config")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    first = FeedConfig.read(path)
    lease_http = httpx.Client(base_url=first.gateway_url, verify=first.ca_file or True, timeout=10)
    lease = Lease(lease_http, "price-feed", lambda: FeedConfig.read(path).api_key or "")
    feed = ConfiguredFeed(path, fence=lease.headers)
    try:
        if not lease.wait(stop):  # a standby until it leads (and until the feed has its key): one feed posts
            return ExitStatus.OK
        logger.warning("price feed running every %.1f s from %s", args.interval, path)
        while not stop.is_set():
            try:
                feed.round()
            except Exception:  # the loop survives a bad round (a file half written, the gateway restarting)
                logger.exception("price feed: round failed")
            stop.wait(args.interval)
    finally:
        lease.release()
        lease_http.close()
        feed.close()
    return ExitStatus.REFUSED if lease.lost.is_set() else ExitStatus.OK


def register(sub: Any) -> None:
    feed = sub.add_parser("feed", help="the price feed: CSV drops, HTTP feeds, manual entries -> guarded median")
    feed.add_argument("--config", help="the feed's JSON (default: <data dir>/risk/feed.json)")
    feed.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
    feed.set_defaults(handler=cmd_feed)
