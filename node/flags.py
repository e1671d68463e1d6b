"""The flags of ``reponet-node``, each defined once.

Two parents carry what several commands share: ``common`` (a data directory and its keystore password, logging) and
``serve`` (JSON-RPC, pool and block-building limits). The flags that ``init``, ``run``, ``dev`` and ``network`` have
in common (``--block-time``, ``--allow``, ``--chain-id``/``--accounts``, the network's shape, ``--test-faults``) are
added by one function each, so a default or a help text lives in one place.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node import __version__
from node.chain import BUILD_SECONDS
from node.qbft.votes import DEFAULT_EPOCH_LENGTH
from node.rpc.auth import MEMBER_MODULES
from node.rpc.budget import CallLimits
from node.rpc.limits import ServerLimits
from node.service import RpcLimits
from node.txpool import PoolLimits


def common_flags() -> argparse.ArgumentParser:
    """Logging, the data directory and its keystore password: every command that opens a data directory."""
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    common.add_argument("--json-logs", action="store_true", help="one JSON object per log line")
    common.add_argument("--data-dir", type=Path, required=True)
    common.add_argument("--password-file", type=Path, help=f"keystore password (else ${'REPONET_NODE_PASSWORD'})")

    return common


def serve_flags() -> argparse.ArgumentParser:
    """JSON-RPC, pool and block-building limits: every command that serves a node (``run``, ``dev``, ``network``)."""
    serve = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    serve.add_argument("--rpc-host", default="127.0.0.1")
    serve.add_argument("--rpc-port", type=int, default=8545)
    serve.add_argument("--empty-blocks", action="store_true", help="seal a block every block time even if idle")
    serve.add_argument(
        "--no-trailing-block",
        action="store_true",
        help="do not follow a block with transactions by one empty block (see docs)",
    )
    serve.add_argument("--rpc-max-body", type=int, default=RpcLimits.max_body_bytes)
    serve.add_argument("--rpc-batch-limit", type=int, default=RpcLimits.max_batch)
    serve.add_argument("--rpc-logs-range", type=int, default=RpcLimits.max_log_range)
    serve.add_argument("--rpc-logs-limit", type=int, default=RpcLimits.max_logs)
    serve.add_argument("--rpc-gascap", type=int, default=RpcLimits.call_gas_cap)
    serve.add_argument(
        "--rpc-evm-timeout", type=float, default=CallLimits.seconds, help="wall-clock seconds per eth_call/estimate"
    )
    serve.add_argument(
        "--rpc-request-gas", type=int, default=CallLimits.request_gas, help="gas all calls of one request may use"
    )
    serve.add_argument("--rpc-call-workers", type=int, default=CallLimits.workers, help="threads for client calls")
    serve.add_argument("--rpc-call-queue", type=int, default=CallLimits.queue, help="client calls waiting at most")
    serve.add_argument(
        "--rpc-client-calls", type=int, default=CallLimits.per_client, help="concurrent calls per client at most"
    )
    serve.add_argument(
        "--rpc-max-response-bytes",
        type=int,
        default=ServerLimits.max_response_bytes,
        help="size of one answer (a batch included); batch items past it get a -32005 error",
    )
    serve.add_argument(
        "--rpc-ws-queue",
        type=int,
        default=ServerLimits.ws_queue_messages,
        help="messages waiting for a WebSocket client; one that does not read is disconnected",
    )
    serve.add_argument(
        "--rpc-client-filters",
        type=int,
        default=ServerLimits.filters_per_client,
        help="filters one client may have installed",
    )
    serve.add_argument(
        "--rpc-client-subscriptions",
        type=int,
        default=ServerLimits.subscriptions_per_client,
        help="subscriptions one client may hold over all its WebSocket connections",
    )
    serve.add_argument(
        "--rpc-connections-per-address",
        type=int,
        default=ServerLimits.connections_per_address,
        help="concurrent RPC connections from one address",
    )
    serve.add_argument(
        "--rpc-idle-timeout",
        type=float,
        default=ServerLimits.idle_seconds,
        help="seconds a connection may stay silent (keep-alive, WebSocket before its first request)",
    )
    serve.add_argument("--txpool-account-slots", type=int, default=PoolLimits.max_per_sender)
    serve.add_argument("--txpool-global-slots", type=int, default=PoolLimits.max_total)
    serve.add_argument(
        "--txpool-queued-slots", type=int, default=PoolLimits.max_queued_per_sender, help="queued txs per sender"
    )
    serve.add_argument("--txpool-queued-global", type=int, default=PoolLimits.max_queued_total, help="queued txs")
    serve.add_argument(
        "--txpool-queued-lifetime",
        type=float,
        default=PoolLimits.queued_lifetime_seconds,
        help="seconds after which a queued (future-nonce) transaction is dropped",
    )
    serve.add_argument(
        "--txpool-max-tx-gas",
        type=int,
        default=PoolLimits.max_tx_gas,
        help="gas one transaction may ask for at most (EIP-7825's 2^24 by default)",
    )
    serve.add_argument(
        "--block-build-seconds",
        type=float,
        default=BUILD_SECONDS,
        help="CPU-time budget of a block build (3x it in wall-clock time at most): later transactions wait",
    )
    serve.add_argument(
        "--txpool-reserved-slots",
        type=int,
        default=PoolLimits.reserved_for_system,
        help="slots of the pool only system senders may fill",
    )
    serve.add_argument(
        "--txpool-system-senders",
        nargs="+",
        action="extend",
        default=[],
        metavar="ADDRESS",
        help="local system accounts (relayer, operator) that may use the reserved slots; the validator always may",
    )
    serve.add_argument("--ws-origins", nargs="*", default=[], help="browser origins allowed on WebSocket")
    serve.add_argument(
        "--rpc-auth",
        choices=["on", "off"],
        default=None,
        help="require a JWT bearer token on JSON-RPC (default: on for run and network, off for dev)",
    )
    serve.add_argument(
        "--rpc-jwt-key",
        type=Path,
        help="ES256 private key (PEM) that signs tokens; default DATA_DIR/rpc-jwt.pem, created if missing",
    )
    serve.add_argument(
        "--rpc-jwt-public-key",
        type=Path,
        help="verify tokens with this public key only (the operator keeps the private key elsewhere)",
    )
    serve.add_argument("--rpc-tls-cert", type=Path, help="PEM certificate chain: serve https:// and wss://")
    serve.add_argument("--rpc-tls-key", type=Path, help="PEM private key of --rpc-tls-cert")
    return serve


def add_block_time(parser: argparse.ArgumentParser, *, default: float | None, help: str) -> None:
    parser.add_argument("--block-time", type=float, default=default, help=help)


def add_allow(parser: argparse.ArgumentParser, *, which: str) -> None:
    """``--allow``: accounts added to ``which`` allowlist."""
    parser.add_argument(
        "--allow",
        nargs="+",
        action="extend",
        default=[],
        metavar="ADDRESS",
        help=f"add to {which} (repeatable)",
    )


def add_dev_chain(parser: argparse.ArgumentParser) -> None:
    """The chain id and funded dev accounts of a new local chain (``dev``, ``network``, ``init --validators``)."""
    parser.add_argument("--chain-id", type=int, default=1337)
    parser.add_argument("--accounts", type=int, default=10, help="funded and allowed dev accounts")


def add_test_faults(parser: argparse.ArgumentParser, *, help: str) -> None:
    parser.add_argument("--test-faults", action="store_true", help=f"TESTS ONLY: {help}")


def add_network_shape(parser: argparse.ArgumentParser, *, validators: int | None) -> None:
    """The shape of a local QBFT network (``init --validators``, ``network``)."""
    parser.add_argument("--validators", type=int, default=validators, help="number of validators of a new QBFT network")
    parser.add_argument("--rpc-nodes", type=int, default=0, help="non-validator nodes that follow and verify")
    add_dev_chain(parser)
    parser.add_argument("--base-port", type=int, default=8545, help="node i serves JSON-RPC on BASE+i")
    parser.add_argument("--p2p-base-port", type=int, default=None, help="node i peers on this+i (default BASE+100)")
    parser.add_argument("--period", type=float, default=0.5, help="QBFT block period in seconds")
    parser.add_argument(
        "--request-timeout", type=float, default=2.0, help="round-0 timeout in seconds (doubles each round)"
    )
    parser.add_argument("--epoch-length", type=int, default=DEFAULT_EPOCH_LENGTH, help="votes reset every N blocks")


def add_network_node(parser: argparse.ArgumentParser) -> None:
    """What ``run`` needs for a node of a QBFT network (its data directory made by ``init --validators``)."""
    parser.add_argument(
        "--peers",
        nargs="+",
        action="extend",
        default=[],
        metavar="ENODE",
        help="static peers (enode URLs) in addition to network.json",
    )
    parser.add_argument("--p2p-port", type=int, default=None, help="peer-to-peer listen port (default network.json)")
    parser.add_argument(
        "--node-rules",
        default=None,
        metavar="ADDRESS",
        help="node-rules contract (Besu connectionAllowed) in addition to the node allowlist file",
    )
    add_test_faults(parser, help="expose reponet_testFaults / reponet_testForgeBlock fault injection")


def build_parser() -> argparse.ArgumentParser:
    common, serve = common_flags(), serve_flags()
    parser = argparse.ArgumentParser(
        prog="reponet-node", description="RepoNet permissioned EVM node", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"reponet-node {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser(
        "init", parents=[common], help="create a data directory (one node, or a QBFT network)", allow_abbrev=False
    )
    init.add_argument("--genesis", type=Path, help="genesis file (not with --validators)")
    init.add_argument("--validator-key", type=Path, help="hex private key or keystore (else a new key)")
    add_network_shape(init, validators=None)
    add_allow(init, which="every node's account allowlist")

    run = sub.add_parser("run", parents=[common, serve], help="run a node from its data directory", allow_abbrev=False)
    add_block_time(run, default=None, help="seconds between blocks (default: genesis qbft.blockperiodseconds, else 1)")
    add_network_node(run)

    dev = sub.add_parser("dev", parents=[common, serve], help="local single-validator dev chain", allow_abbrev=False)
    add_block_time(dev, default=0.25, help="seconds between blocks")
    add_dev_chain(dev)
    add_allow(dev, which="the local allowlist")

    network = sub.add_parser(
        "network",
        parents=[common, serve],
        allow_abbrev=False,
        help="run a local N-validator QBFT network (one process per node)",
    )
    network.set_defaults(rpc_port=None)
    add_network_shape(network, validators=4)
    add_allow(network, which="the account allowlist")
    add_block_time(network, default=None, help="seconds between blocks (default: the genesis block period)")
    add_test_faults(network, help="start nodes with --test-faults")

    token = sub.add_parser("token", help="JSON-RPC access tokens (JWT, ES256)", allow_abbrev=False)
    token_sub = token.add_subparsers(dest="token_command", required=True)
    for name, text in (("issue", "mint a token"), ("public-key", "print the public key that verifies tokens")):
        cmd = token_sub.add_parser(name, help=text, allow_abbrev=False)
        where = cmd.add_mutually_exclusive_group(required=True)
        where.add_argument("--data-dir", type=Path, help="the node's data directory (its rpc-jwt.pem)")
        where.add_argument("--key", type=Path, help="an ES256 private key file (PEM)")
        if name == "issue":
            cmd.add_argument("--subject", required=True, help="who the token is for (e.g. the member's name)")
            cmd.add_argument(
                "--methods",
                default=",".join(MEMBER_MODULES),
                help="modules or module:method entries, comma-separated; * for all (default: eth,net,web3)",
            )
            cmd.add_argument("--expires", default="30d", help="lifetime: 3600s, 12h, 30d (default 30d)")
            cmd.add_argument("--json", action="store_true")
    return parser
