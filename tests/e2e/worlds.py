"""A gateway world (members, users, API client) wired to a deployed chain: relayer and indexer running."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.chain import guard
from gateway.chain.connect import connect
from gateway.chain.web3_client import Web3Chain
from gateway.config import Settings
from gateway.db.migrate import upgrade
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market
from gateway.workers import attach, start_message_tails, start_workers, wake_all
from tests.e2e.chains import Deployment
from tests.gateway.conftest import World
from tests.gateway.market import market_world


def chain_world(
    d: Deployment, tmp_path: Path, *, registry_outbox: bool = False, guarded: bool = True, **overrides: Any
) -> Iterator[World]:
    """One world on ``d``'s chain, with fast relayer and indexer polls; the workers stop when it is closed.
    ``registry_outbox``: the relayer also sends the registry's and the anchor's writes (from the deployer's
    account, which holds the KYC agent's and the anchoring roles here). ``guarded`` (the default): the gateway
    reaches the chain through its own transport with the write-transaction guard on (gateway.chain.guard), so a
    JSON-RPC call made while a database write transaction is open fails the request. ``overrides`` are settings."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    w3 = connect(d.chain.url, timeout=30) if guarded else d.w3
    registry_agent = Web3Chain(
        w3,
        account=d.deployer,
        identity_registry=d.addresses["identity_registry"],
        audit_anchor=d.addresses["audit_anchor"],
    )
    market = Market(
        w3,
        engine=d.addresses["repo_engine"],
        oracle=d.addresses["price_oracle"],
        relayer=d.relayer,
        settings=Settings(relayer_poll_seconds=0.02, indexer_poll_seconds=0.1),
        kyc_agent=d.deployer if registry_outbox else None,
        anchorer=d.deployer if registry_outbox else None,
        identity_registry=d.addresses["identity_registry"],
        audit_anchor=d.addresses["audit_anchor"],
    )
    hub = Hub(chain_id=market.chain_id, engine=market.engine_address)
    for world in market_world(tmp_path, url, chain=registry_agent, hub=hub, chain_id=market.chain_id, **overrides):
        attach(hub, market, world.ctx, start_block=0)
        d.after_advance.append(market.forget_clock)
        stop = threading.Event()
        threads = start_workers(hub, stop) + start_message_tails(hub, world.ctx, stop)  # the lifespan's hub had no bus
        try:
            with guard.enforced(guarded):
                yield world
        finally:
            d.after_advance.remove(market.forget_clock)
            stop.set()
            wake_all(hub)  # loops waiting for a block or a ring return now, not at their next tick
            for thread in threads:
                thread.join(timeout=5)
