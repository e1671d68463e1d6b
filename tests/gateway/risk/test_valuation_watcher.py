"""The watcher under an agreement with valuation times, against a stand-in gateway (httpx.MockTransport): a price
fall between two valuation points is shown but not called; the call goes out at the first tick past the next point;
without valuation times the same fall is called at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from gateway.risk.store import Store
from gateway.risk.valuation import DAY
from gateway.risk.watcher import MemberKey, Watcher

ME, THEM, AGREEMENT = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b", "agr-1"
MIDNIGHT = 20_000 * DAY


class Gateway:
    """Just enough of /v1/risk for one lender, one repo and one effective agreement."""

    def __init__(self, valuation_times: list[str]) -> None:
        self.now = MIDNIGHT + 9 * 3_600  # 09:00 UTC
        self.price = 10**18  # par: 1,100 of collateral against 1,000 owed, no exposure
        self.valuation_times = valuation_times
        self.calls: list[dict[str, Any]] = []
        self.shown: list[dict[str, Any]] = []  # the member's live views (POST /v1/risk/exposure)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/risk/repos":
            return httpx.Response(200, json={"data": [self._repo()], "fx": []})
        if path == "/v1/risk/agreements":
            return httpx.Response(200, json={"data": [self._agreement()]})
        if path == f"/v1/risk/agreements/{AGREEMENT}":
            return httpx.Response(200, json={**self._agreement(), "threshold": "0", "minimum_transfer": "0",
                                             "rounding": "0"})  # fmt: skip
        if path == "/v1/risk/margin-calls":
            self.calls.append(json.loads(request.content))
            return httpx.Response(202, json={"settlement_id": "s"})
        if path == "/v1/risk/exposure":
            self.shown.append(json.loads(request.content))
            return httpx.Response(204)
        return httpx.Response(404)

    def _agreement(self) -> dict[str, Any]:
        return {
            "id": AGREEMENT, "member_a": ME, "member_b": THEM, "auto_call_a": True, "auto_call_b": False,
            "method": "B", "cure_period_seconds": 3600, "base_currency": "0xcash", "eligible": [],
            "valuation_times": self.valuation_times,
        }  # fmt: skip

    def _repo(self) -> dict[str, Any]:
        return {
            "repo_id": 1, "lender": ME, "borrower": THEM, "status": "open", "cash_token": "0xcash",
            "collateral_token": "0xbond", "collateral_isin": None, "collateral_currency": None,
            "repurchase_price": "1000", "collateral_amount": "1100", "cash_margin": "0", "haircut_bps": 200,
            "min_transfer_amount": "1", "price": str(self.price), "price_currency": None, "fx_rate": None,
            "fx_haircut_bps": 0, "valued_at": self.now, "updated_block": 7,
        }  # fmt: skip


def _watcher(gateway: Gateway, tmp_path: Path) -> Watcher:
    http = httpx.Client(base_url="http://gateway", transport=httpx.MockTransport(gateway.handle))
    return Watcher(http, Store(tmp_path / "risk.db"), [MemberKey("a", "key")])


def test_a_fall_between_valuation_points_is_called_at_the_next_point(tmp_path: Path) -> None:
    gateway = Gateway(["08:00", "16:00"])
    watcher = _watcher(gateway, tmp_path)
    assert watcher.tick() == []  # 09:00: valued at the 08:00 point, nothing owed
    gateway.price = 85 * 10**16  # 1,100 × 0.85 × 0.98 = 916.3: 84 owed
    gateway.now += 3_600
    assert watcher.tick() == [] and gateway.calls == []  # 10:00: still the 08:00 point, not called
    gateway.now = MIDNIGHT + 16 * 3_600  # the 16:00 point
    (made,) = watcher.tick()
    assert made.repo_id == 1 and made.call_amount == 84 and len(gateway.calls) == 1
    gateway.now += 60
    assert watcher.tick() == [] and len(gateway.calls) == 1


def test_without_valuation_times_a_fall_is_called_at_once(tmp_path: Path) -> None:
    gateway = Gateway([])
    watcher = _watcher(gateway, tmp_path)
    assert watcher.tick() == []
    gateway.price = 85 * 10**16
    (made,) = watcher.tick()
    assert made.call_amount == 84 and len(gateway.calls) == 1
    # each live view carries the repo's own exposure (the holder's chart): over-collateralized at par, short after
    at_par, fallen = (view["repos"] for view in gateway.shown)
    assert [r["repo_id"] for r in at_par] == [1] and int(at_par[0]["exposure"]) < 0 < int(fallen[0]["exposure"])
