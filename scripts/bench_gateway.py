#!/usr/bin/env python3
"""Benchmark the gateway end to end on our node: repos opened per second through the API (direct terms, both
custodial signatures, relayer, until the settlement is final on chain) at 1, 10 and 50 concurrent clients with
p50/p99 latency, and authenticated GET requests per second.

The gateway runs as it does in production (uvicorn, default relayer settings, its own JSON-RPC client) in this
process; the GET load comes from a separate process, as real clients do, so that the client's Python does not
share the server's interpreter lock. Beside the authenticated GETs the same client measures ``/healthz`` (no
authentication, no database): the framework's ceiling on this machine in the same run.

    .venv/bin/python scripts/bench_gateway.py --json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class ApiClient:
    """JSON over one keep-alive standard-library connection per thread: the load generator shares the two cores
    with the gateway and the node, and httpx costs several times the CPU per request (see ``get_load``)."""

    def __init__(self, base: str) -> None:
        from urllib.parse import urlsplit

        target = urlsplit(base)
        self.host, self.port = target.hostname or "127.0.0.1", target.port
        self._local = threading.local()

    def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
        import http.client

        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        payload = None if body is None else json.dumps(body).encode()
        sent = {**headers, "Content-Type": "application/json"} if payload is not None else headers
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None


def open_one(client: ApiClient, terms: dict[str, Any], ha: dict[str, str], hb: dict[str, str]) -> float:
    """One repo through the API: direct terms, both custodial signatures, wait until final; milliseconds."""
    start = time.perf_counter()
    status, trade = client.request("POST", "/v1/trades", ha, terms)
    assert status == 201, trade
    signed: Any = None
    for headers in (ha, hb):
        status, signed = client.request("POST", f"/v1/trades/{trade['id']}/sign", headers)
        assert status == 200, signed
    settlement_id = signed["trade"]["settlement_id"]
    _, done = client.request("GET", f"/v1/settlements/{settlement_id}/wait?timeout=60", ha)
    assert done["status"] == "final", done
    return (time.perf_counter() - start) * 1000


def open_load(
    base: str, terms: dict[str, Any], ha: dict[str, str], hb: dict[str, str], clients: int, opens: int
) -> tuple[list[float], float]:
    """``opens`` repos by ``clients`` concurrent clients (runs in a separate process): latencies, seconds."""
    client = ApiClient(base)
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = list(pool.map(lambda _: open_one(client, terms, ha, hb), range(opens)))
    return latencies, time.perf_counter() - began


def client_process() -> ProcessPoolExecutor:
    import multiprocessing

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    pool.submit(time.sleep, 0).result()  # the worker is up before any clock starts
    return pool


def get_load(base: str, path: str, headers: dict[str, str], seconds: float, clients: int) -> int:
    """Requests answered 200 by ``clients`` threads in ``seconds`` (runs in a separate process).

    Each thread keeps one connection open with the standard library's HTTP client: about a tenth of httpx's CPU per
    request, so that on two cores the load generator does not become what is measured."""
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(base)
    stop = time.perf_counter() + seconds
    counts: list[int] = []

    def reader() -> None:
        done = 0
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        while time.perf_counter() < stop:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, body
            done += 1
        connection.close()
        counts.append(done)

    threads = [threading.Thread(target=reader) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux /proc): CPU per request does not depend on what else the
    shared machine runs, unlike requests per second."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_gets(base: str, path: str, headers: dict[str, str], seconds: float, clients: int) -> tuple[float, float]:
    """Requests per second, and the gateway's CPU milliseconds per request."""
    with client_process() as pool:
        cpu = cpu_seconds(os.getpid())
        began = time.perf_counter()
        answered = pool.submit(get_load, base, path, headers, seconds, clients).result()
        elapsed = time.perf_counter() - began
        return round(answered / elapsed, 1), round((cpu_seconds(os.getpid()) - cpu) * 1000 / answered, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--opens-per-client", type=int, default=3)
    parser.add_argument("--get-seconds", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    import uvicorn
    from fastapi.testclient import TestClient

    from gateway.app import build_context, create_app
    from gateway.chain.connect import connect
    from gateway.chain.web3_client import Web3Chain
    from gateway.db.migrate import upgrade
    from gateway.db.models import Role
    from gateway.kyc.sanctions import SanctionsList
    from gateway.settlement.hub import Hub
    from gateway.settlement.market import Market, MarketSettings
    from gateway.settlement.wiring import attach
    from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, deploy, free_port, start_chain
    from tests.gateway.conftest import World, make_settings
    from tests.gateway.market import approve_member, list_instrument

    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    chain_iter = start_chain("reponet-node", work)
    chain = next(chain_iter)
    try:
        d = deploy(chain)
        url = f"sqlite:///{work / 'gateway.db'}"
        upgrade(url)
        settings = make_settings(
            work,
            url,
            access_token_seconds=3600,
            step_up_seconds=3600,
            rate_limit_ip="1000000/minute",
            rate_limit_principal="1000000/minute",
            chain_id=int(d.w3.eth.chain_id),
        )
        registry = Web3Chain(
            connect(chain.url),
            account=d.deployer,
            identity_registry=d.addresses["identity_registry"],
            audit_anchor=d.addresses["audit_anchor"],
        )
        ctx = build_context(settings, chain=registry, sanctions=SanctionsList([], 88.0))
        app = create_app(settings, context=ctx)
        market = Market(
            connect(chain.url),
            engine=d.addresses["repo_engine"],
            oracle=d.addresses["price_oracle"],
            relayer=d.relayer,
            settings=MarketSettings(),
        )
        hub = Hub(chain_id=market.chain_id, engine=market.engine_address)
        attach(hub, market, ctx)
        app.state.hub = hub

        setup = TestClient(app, base_url="https://gateway.test")  # no lifespan: setup only
        world = World(ctx=ctx, client=setup, chain=registry)  # type: ignore[arg-type]
        world.org("op", name="Operator", is_operator=True)
        world.org("a", name="Bank A")
        world.org("b", name="Fund B")
        a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
        wa = a.post("/v1/wallets", json={"label": "desk"}).json()
        wb = b.post("/v1/wallets", json={"label": "desk"}).json()
        approve_member(world, "a")
        approve_member(world, "b")
        list_instrument(world, d.addresses["cash"], "cash", CASH_DECIMALS, "EURD")
        list_instrument(world, d.addresses["bond"], "bond", BOND_DECIMALS, "DBR35")
        d.send(d.deployer, d.cash.functions.mint(wb["address"], 10**9 * 10**CASH_DECIMALS))
        d.send(d.deployer, d.bond.functions.mint(wa["address"], 10**9 * 10**BOND_DECIMALS))
        d.send(d.deployer, d.oracle.functions.setPrice(d.addresses["bond"], d.addresses["cash"], 9_800 * 10**18))

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        server_thread = threading.Thread(target=server.run, daemon=True)
        server_thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        ha = {"Authorization": f"Bearer {a.tokens['access_token']}"}
        hb = {"Authorization": f"Bearer {b.tokens['access_token']}"}
        terms = {
            "role": "seller",
            "wallet_id": wa["id"],
            "counterparty_wallet": wb["address"],
            "cash_token": d.addresses["cash"],
            "collateral_token": d.addresses["bond"],
            "purchase_price": "1000",
            "collateral_amount": "1100",
            "rate": "0.035",
            "haircut_bps": 200,
            "tenor_seconds": 86_400,
        }

        results: dict[str, Any] = {"chain": "reponet-node", "opens_per_client": args.opens_per_client}
        warm = ApiClient(base)
        open_one(warm, terms, ha, hb)  # the first open also sends the wallets' token approvals
        last_trade = warm.request("GET", "/v1/trades?limit=1", ha)[1]["data"][0]["id"]
        for c in args.clients:
            n = c * args.opens_per_client
            with client_process() as pool:
                gateway_cpu, node_cpu = cpu_seconds(os.getpid()), cpu_seconds(chain.proc.pid)
                latencies, elapsed = pool.submit(open_load, base, terms, ha, hb, c, n).result()
                results[f"gateway_cpu_ms_per_open_c{c}"] = round((cpu_seconds(os.getpid()) - gateway_cpu) * 1000 / n, 1)
                results[f"node_cpu_ms_per_open_c{c}"] = round((cpu_seconds(chain.proc.pid) - node_cpu) * 1000 / n, 1)
            results[f"opens_per_s_c{c}"] = round(n / elapsed, 2)
            results[f"open_p50_ms_c{c}"] = round(statistics.median(latencies), 1)
            results[f"open_p99_ms_c{c}"] = round(percentile(latencies, 99), 1)

        results["get_rps"], results["get_cpu_ms"] = measure_gets(
            base, f"/v1/trades/{last_trade}", ha, args.get_seconds, 10
        )
        results["healthz_rps"], results["healthz_cpu_ms"] = measure_gets(base, "/healthz", {}, args.get_seconds, 10)
        results["get_clients"] = 10
        results["get_path"] = "/v1/trades/{id}"
        server.should_exit = True
        server_thread.join(timeout=15)  # the lifespan stops the relayer and indexer before the chain goes
    finally:
        for _ in chain_iter:
            pass
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
