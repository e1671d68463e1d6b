"""A gateway process for the crash test: ``python -m tests.e2e.crash_gateway CONFIG`` serves the API over HTTP
(uvicorn, relayer and indexer as in production) on the configured port, 0 for a free one, written to
``port_file`` once bound. SIGKILL it at any point and start it again with the same config."""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path
from typing import Any


def serve(config: dict[str, Any]) -> None:
    import uvicorn
    from eth_account import Account

    from gateway.app import build_context, create_app
    from gateway.chain.connect import connect
    from gateway.chain.web3_client import Web3Chain
    from gateway.screening.sanctions import SanctionsList
    from gateway.settlement.hub import Hub
    from gateway.settlement.market import Market
    from gateway.workers import attach
    from tests.gateway.conftest import make_settings

    addresses = config["addresses"]
    settings = make_settings(Path(config["work"]), config["db_url"], **config["settings"])
    registry = Web3Chain(
        connect(config["chain_url"], timeout=5),
        account=Account.from_key(config["deployer_key"]),
        identity_registry=addresses["identity_registry"],
        audit_anchor=addresses["audit_anchor"],
    )
    ctx = build_context(settings, chain=registry, sanctions=SanctionsList([], 88.0))
    app = create_app(settings, context=ctx)
    market = Market(
        connect(config["chain_url"], timeout=5),
        engine=addresses["repo_engine"],
        oracle=addresses["price_oracle"],
        relayer=Account.from_key(config["relayer_key"]),
        settings=settings,
    )
    market.__dict__["chain_id"] = int(config["chain_id"])  # known: a restart must not need the node to answer
    hub = Hub(chain_id=int(config["chain_id"]), engine=market.engine_address)
    attach(hub, market, ctx, start_block=int(config.get("start_block", 0)))
    app.state.hub = hub
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(config.get("port", 0))))
    port_file = Path(config["port_file"])
    port_file.with_suffix(".tmp").write_text(str(sock.getsockname()[1]))
    port_file.with_suffix(".tmp").replace(port_file)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    server.run(sockets=[sock])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(json.loads(Path(sys.argv[1]).read_text()))
