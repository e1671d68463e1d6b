"""One chain, one deployment and one gateway served over HTTP for every browser test of the package."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn

from gateway.db.models import Role
from tests.e2e.chains import BOND_DECIMALS, deploy, start_chain
from tests.e2e.test_lifecycle_paths import Env
from tests.e2e.test_trading_chain import settled
from tests.e2e.worlds import chain_world
from tests.gateway.market import approve_member, call, custodial_wallet


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, str]]:
    """Our node, the deployment, and the gateway served over HTTP on a port of its own (the browser's origin)."""
    tmp_path = tmp_path_factory.mktemp("web")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for chain in start_chain("reponet-node", tmp_path):
        d = deploy(chain)
        # the package's people sign in once for all its tests, which outlast the default 5-minute access token
        for world in chain_world(d, tmp_path, public_origin=origin, access_token_seconds=3600):
            admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
            admin2 = world.user("op", Role.OPERATOR_ADMIN, "admin2")
            a_trader, b_trader = world.user("a", Role.TRADER, "atrader"), world.user("b", Role.TRADER, "btrader")
            a_wallet, b_wallet = custodial_wallet(a_trader), custodial_wallet(b_trader)
            approve_member(world, "a")
            approve_member(world, "b")
            for address, kind in ((d.addresses["cash"], "cash"), (d.addresses["bond"], "bond")):
                assert (
                    call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind}).status_code == 201
                )
            issue = {"token": d.addresses["cash"], "wallet": b_wallet["address"], "amount": "2000000"}
            settled(admin, call(admin, "/v1/operator/cash/issue", json=issue))
            d.send(d.deployer, d.bond.functions.mint(a_wallet["address"], 2_000_000 * 10**BOND_DECIMALS))
            env = Env(d, world, admin, admin2, a_trader, b_trader, a_wallet, b_wallet)
            config = uvicorn.Config(world.client.app, lifespan="off", log_level="warning")  # the world runs it
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
            thread.start()
            try:
                yield env, origin
            finally:
                server.should_exit = True
                thread.join(timeout=10)
