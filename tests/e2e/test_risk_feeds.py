"""The price feed against our node: the median of a CSV drop, a local JSON feed and a manual entry goes on chain
through the gateway's price route; a larger move that the feed's jump guard lets through still waits for a second
operator person there (the gateway's bound), and the feed does not post it twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.risk.feeds.combine import Guards
from gateway.risk.feeds.runner import FeedRunner, GatewayPoster
from gateway.risk.feeds.sources import CsvDropSource, HttpJsonSource, ManualSource
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_risk_cure import env  # noqa: F401 - the module's chain, gateway and members
from tests.e2e.test_trading_chain import settled, wait_for
from tests.gateway.market import call, step_up

pytestmark = pytest.mark.slow
SCALE = 10**18


@pytest.fixture
def served() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    prices: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"prices": prices}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", prices
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _raw(percent: str) -> int:
    return int(Decimal(percent) * 10**CASH_DECIMALS * SCALE / (100 * 10**BOND_DECIMALS))


def _csv(directory: Path, bond: str, cash: str, percent: str) -> None:
    part = directory.parent / "feed.part"
    part.write_text(f"asset,quote,price_percent_of_par,timestamp\n{bond},{cash},{percent},{time.time()}\n")
    part.rename(directory / "feed.csv")


def test_the_median_goes_on_chain_through_the_price_route(
    env: Env,  # noqa: F811
    tmp_path: Path,
    served: tuple[str, list[dict[str, Any]]],
) -> None:
    url, prices = served
    d, admin = env.d, env.admin
    env.price("100")
    bond, cash = env.bond.lower(), env.cash.lower()
    drop = tmp_path / "drop"
    drop.mkdir()
    _csv(drop, bond, cash, "99.50")
    prices[:] = [{"asset": bond, "quote": cash, "price_percent_of_par": "99.70", "timestamp": time.time()}]
    step_up(admin)
    entry = call(admin, "/v1/risk/price-entries", {"asset": bond, "quote": cash, "price_percent_of_par": "99.60"})
    assert entry.status_code == 201, entry.text
    sources = [CsvDropSource(drop), HttpJsonSource(url, timeout=2), ManualSource(env.world.client, admin.headers)]
    feed = FeedRunner(sources, GatewayPoster(env.world.client, admin.headers), Guards(min_sources=3, jump_rounds=2))

    result = feed.round()
    assert result.alarms == []
    [posted] = result.posted
    assert (posted.percent, posted.status) == (Decimal("99.6"), "posted")
    settled(admin, admin.get(f"/v1/operator/prices/{posted.detail}"))
    assert d.oracle.functions.getPrice(env.bond, env.cash).call()[0] == _raw("99.6")

    # −30 % everywhere: the feed holds it one round, then posts; the gateway's own bound waits for a second person
    _csv(drop, bond, cash, "69.70")
    prices[:] = [{"asset": bond, "quote": cash, "price_percent_of_par": "69.80", "timestamp": time.time()}]
    step_up(admin)
    again = call(admin, "/v1/risk/price-entries", {"asset": bond, "quote": cash, "price_percent_of_par": "69.75"})
    assert again.status_code == 201, again.text
    assert feed.round().posted == []
    [big] = feed.round().posted
    assert (big.percent, big.status) == (Decimal("69.75"), "awaiting_confirmation")
    assert feed.round().posted == []  # not posted again while it waits
    assert d.oracle.functions.getPrice(env.bond, env.cash).call()[0] == _raw("99.6")
    step_up(env.admin2)
    settled(admin, call(env.admin2, f"/v1/operator/prices/{big.detail}/confirm"))
    wait_for(lambda: d.oracle.functions.getPrice(env.bond, env.cash).call()[0], lambda p: p == _raw("69.75"))
