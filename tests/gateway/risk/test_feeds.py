"""The price feed's sources and guards, with real parts: CSV files dropped in a directory, a JSON feed served by a
local HTTP server (port 0), manual entries typed into the gateway's API. The median of fresh quotes is posted;
a stale or unreachable source raises ``quiet``, a far one ``disagrees``, a jump is held until it persists, and
too few fresh sources give no price at all. (Posting through the price route on a chain: tests/e2e.)"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.risk.feeds.combine import AlarmKind, Guards
from gateway.risk.feeds.runner import FeedRunner, Posted
from gateway.risk.feeds.sources import CsvDropSource, HttpJsonSource, ManualSource, Pair, SourceUnavailable
from tests.gateway.conftest import Cast, World
from tests.gateway.market import call, list_instrument, step_up

BOND = "0x" + "b0" * 20
CASH = "0x" + "c0" * 20
PAIR = Pair(BOND, CASH)


class Feed:
    """A JSON price feed on a local port; ``prices`` is what it serves, ``up`` whether it answers."""

    def __init__(self) -> None:
        self.prices: list[dict[str, Any]] = []
        self.up = True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not outer.up:
                    self.send_error(503)
                    return
                body = json.dumps({"prices": outer.prices}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/prices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def feed() -> Iterator[Feed]:
    server = Feed()
    try:
        yield server
    finally:
        server.close()


@dataclass
class Recorder:
    """Stands in for the gateway's price route (posting on a chain is tested in tests/e2e/test_risk_feeds.py)."""

    posts: list[tuple[Pair, Decimal]] = field(default_factory=list)

    def post(self, pair: Pair, percent: Decimal, round_at: float) -> Posted:
        self.posts.append((pair, percent))
        return Posted(pair, percent, "posted", "")


def drop(directory: Path, name: str, rows: list[tuple[str, float]]) -> None:
    """Write a CSV file beside the drop directory, then rename it in (as a writer must)."""
    tmp = directory.parent / f"{name}.part"
    lines = ["asset,quote,price_percent_of_par,timestamp"] + [f"{BOND},{CASH},{p},{t}" for p, t in rows]
    tmp.write_text("\n".join(lines) + "\n")
    tmp.rename(directory / name)


def quote(price: str, at: float) -> dict[str, Any]:
    return {"asset": BOND, "quote": CASH, "price_percent_of_par": price, "timestamp": at}


def runner(tmp_path: Path, feed: Feed, extra: list[Any] | None = None, **guards: Any) -> tuple[FeedRunner, Recorder]:
    recorder = Recorder()
    sources: list[Any] = [CsvDropSource(tmp_path / "drop"), HttpJsonSource(feed.url, timeout=2)] + (extra or [])
    return FeedRunner(sources, recorder, Guards(**guards)), recorder  # type: ignore[arg-type]


def kinds(alarms: list[Any]) -> set[tuple[str, str | None]]:
    return {(a.kind.value, a.source) for a in alarms}


def test_median_of_three_real_sources_with_a_manual_entry(world: World, cast: Cast, tmp_path: Path, feed: Feed) -> None:
    list_instrument(world, BOND, "bond", 2, "BOND")
    list_instrument(world, CASH, "cash", 6, "EURt")
    (tmp_path / "drop").mkdir()
    now = time.time()
    drop(tmp_path / "drop", "a.csv", [("97.00", now - 600), ("98.00", now - 5)])  # the newest row counts
    feed.prices = [quote("98.40", now - 1)]
    # a trader cannot type a price; the operator's person can, with a fresh TOTP code
    body = {"asset": BOND, "quote": CASH, "price_percent_of_par": "98.20"}
    assert call(cast.a_trader, "/v1/risk/price-entries", body).status_code == 403
    step_up(cast.admin)
    entered = call(cast.admin, "/v1/risk/price-entries", body)
    assert entered.status_code == 201, entered.text
    unlisted = call(cast.admin, "/v1/risk/price-entries", {**body, "asset": "0x" + "99" * 20})
    assert unlisted.status_code == 404
    manual = ManualSource(world.client, cast.admin.headers)
    run, recorder = runner(tmp_path, feed, [manual], min_sources=3)
    result = run.round()
    assert result.alarms == []
    assert recorder.posts == [(PAIR, Decimal("98.2"))]  # the median of 98.00, 98.20 and 98.40
    assert run.round().posted == []  # unchanged: nothing posted again


def test_stale_and_unreachable_sources_raise_quiet_and_leave_too_few(tmp_path: Path, feed: Feed) -> None:
    (tmp_path / "drop").mkdir()
    now = time.time()
    drop(tmp_path / "drop", "a.csv", [("98.00", now)])
    feed.prices = [quote("98.10", now)]
    run, recorder = runner(tmp_path, feed, max_age_seconds=60)
    run.round()
    assert recorder.posts == [(PAIR, Decimal("98.05"))]

    feed.prices = [quote("97.00", now - 120)]  # the feed's last quote is two minutes old
    result = run.round()
    assert kinds(result.alarms) == {("quiet", "http"), ("too_few", None)}
    assert len(recorder.posts) == 1

    feed.up = False  # and then the feed stops answering
    result = run.round()
    assert ("quiet", "http") in kinds(result.alarms) and len(recorder.posts) == 1

    (tmp_path / "drop" / "a.csv").write_text("asset,quote,price_percent_of_par,timestamp\nnot,a,row,x\n")
    result = run.round()  # a malformed file is skipped row by row: the CSV source served nothing fresh
    assert ("quiet", "csv") in kinds(result.alarms) and len(recorder.posts) == 1


def test_a_source_far_from_the_others_is_flagged_and_outvoted(tmp_path: Path, feed: Feed) -> None:
    (tmp_path / "drop").mkdir()
    second = tmp_path / "drop2"
    second.mkdir()
    now = time.time()
    drop(tmp_path / "drop", "a.csv", [("98.00", now)])
    drop(second, "b.csv", [("98.02", now)])
    feed.prices = [quote("90.00", now)]  # a fat finger in the JSON feed
    run, recorder = runner(tmp_path, feed, [CsvDropSource(second, name="csv2")], min_sources=3)
    result = run.round()
    assert kinds(result.alarms) == {("disagrees", "http")}
    assert recorder.posts == [(PAIR, Decimal("98"))]  # the median ignores the outlier


def test_a_jump_is_held_until_it_persists(tmp_path: Path, feed: Feed) -> None:
    (tmp_path / "drop").mkdir()
    now = time.time()
    drop(tmp_path / "drop", "a.csv", [("100", now)])
    feed.prices = [quote("100", now)]
    run, recorder = runner(tmp_path, feed, max_jump_bps=500, jump_rounds=3)
    run.round()
    drop(tmp_path / "drop", "a.csv", [("80", now + 1)])  # −20 %: beyond the jump guard
    feed.prices = [quote("80", now + 1)]
    for n in (1, 2):
        result = run.round()
        assert [a.kind for a in result.alarms] == [AlarmKind.JUMP], n
        assert recorder.posts == [(PAIR, Decimal("100"))]
    run.round()  # seen three rounds in a row: posted (the gateway's bound and four eyes still apply)
    assert recorder.posts == [(PAIR, Decimal("100")), (PAIR, Decimal("80"))]


def test_an_unreadable_http_answer_is_a_quiet_source(tmp_path: Path) -> None:
    class Broken(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"not json")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        source = HttpJsonSource(f"http://127.0.0.1:{server.server_address[1]}/", timeout=2)
        with pytest.raises(SourceUnavailable, match="http"):
            source.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
