"""The network side of ``reponet-node``: ``init --validators N`` (a QBFT network's genesis, keys, allowlists,
static peers), ``run`` of a network node (``--peers``, ``--p2p-port``), and ``network`` (a local N-validator
network in one command, stopped cleanly by Ctrl-C or SIGTERM).

Layout made by ``init --validators 4 --data-dir DIR``::

    DIR/genesis.json            geth/Besu genesis: QBFT extra-data naming the validators, config.qbft
    DIR/network.json            the nodes: address, enode, ports, role
    DIR/password.txt            keystore password of every node (0600; or --password-file)
    DIR/dev-accounts.json       funded, allowed dev accounts (their keys are public: dev and tests only)
    DIR/node<i>/                a node's data directory: keystore (its validator key is its node key),
                                chain.sqlite, allowlist.txt, permissions_config.toml (Besu format), network.json
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from node.datadir import RPC_KEY, DataDir, init_data_dir
from node.devchain import DEV_BALANCE, DEV_GAS_LIMIT, dev_accounts, new_validator_key
from node.exceptions import ConfigError, PortInUse
from node.genesis import load_genesis
from node.keystore import read_password
from node.p2p.enode import Enode
from node.p2p.permissions import PERMISSIONS_FILE, write_permissions_file
from node.permissioning import read_allowlist, write_allowlist
from node.qbft.rpc import QbftMethods
from node.qbft.service import NETWORK_FILE, NetworkConfig, QbftNodeService, is_network_node, open_network_node
from node.qbft_extra import QBFT_MIX_HASH, QbftExtraData
from node.rpc.auth import ensure_private_key
from node.rpc.params import address as parse_address
from node.rpc.server import RpcServer
from node.serve_options import build_seconds, pool_limits, rpc_auth, rpc_limits, tls_context

logger = logging.getLogger("node.cli")

Command = Any


def wrap_commands(commands: dict[str, Command]) -> dict[str, Command]:
    plain_init, plain_run = commands["init"], commands["run"]

    def init(args: argparse.Namespace) -> None:
        if args.validators is not None:
            cmd_init_network(args)
        elif args.genesis is None:
            raise ConfigError("init needs --genesis FILE (one node) or --validators N (a QBFT network)")
        else:
            plain_init(args)

    def run(args: argparse.Namespace) -> None:
        if is_network_node(args.data_dir):
            serve_network(args)
        else:
            if args.peers or args.test_faults or args.node_rules:
                raise ConfigError("--peers, --node-rules and --test-faults need a network node (init --validators)")
            plain_run(args)

    return {**commands, "init": init, "run": run, "network": cmd_network}


# init ---------------------------------------------------------------------------------------------
def init_network(
    root: Path,
    *,
    validators: int,
    rpc_nodes: int,
    chain_id: int,
    p2p_base_port: int,
    period: float,
    request_timeout: float,
    epoch_length: int,
    accounts: int,
    allow: set[bytes],
    password: str,
) -> dict[str, Any]:
    if validators < 1:
        raise ConfigError("--validators must be at least 1")
    if (root / NETWORK_FILE).exists():
        raise ConfigError(f"{root} already holds a network")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    dev = dev_accounts(accounts, root / "dev-accounts.json")
    keys = [new_validator_key() for _ in range(validators + rpc_nodes)]
    addresses = [bytes(k.public_key.to_canonical_address()) for k in keys]
    enodes = [Enode(bytes(k.public_key.to_bytes()), "127.0.0.1", p2p_base_port + i) for i, k in enumerate(keys)]
    validator_set = tuple(sorted(addresses[:validators]))
    genesis_json = {
        "config": {
            "chainId": chain_id,
            "qbft": {
                "blockperiodseconds": period,
                "epochlength": epoch_length,
                "requesttimeoutseconds": request_timeout,
            },
        },
        "gasLimit": hex(DEV_GAS_LIMIT),
        "timestamp": hex(int(time.time())),
        "difficulty": "0x1",
        "mixHash": "0x" + QBFT_MIX_HASH.hex(),
        "extraData": "0x" + QbftExtraData(validators=validator_set).encode().hex(),
        "alloc": {a.address: {"balance": hex(DEV_BALANCE)} for a in dev},
    }
    (root / "genesis.json").write_text(json.dumps(genesis_json, indent=2) + "\n")
    genesis = load_genesis(root / "genesis.json")
    allowed = {bytes.fromhex(a.address[2:]) for a in dev} | allow
    nodes = []
    for i, key in enumerate(keys):
        data_dir = DataDir(root / f"node{i}")
        init_data_dir(data_dir, genesis, key, password, allowed)
        peers = [str(e) for j, e in enumerate(enodes) if j != i]
        NetworkConfig(
            p2p_port=enodes[i].port, static_peers=peers, epoch_length=epoch_length, request_timeout=request_timeout
        ).save(data_dir.path / NETWORK_FILE)
        write_permissions_file(data_dir.path / PERMISSIONS_FILE, enodes, sorted(allowed))
        nodes.append(
            {
                "dir": f"node{i}",
                "address": "0x" + addresses[i].hex(),
                "enode": str(enodes[i]),
                "p2p_port": enodes[i].port,
                "validator": i < validators,
            }
        )
    summary = {
        "chain_id": chain_id,
        "validators": ["0x" + v.hex() for v in validator_set],
        "nodes": nodes,
        "block_period": period,
        "request_timeout": request_timeout,
        "epoch_length": epoch_length,
    }
    (root / NETWORK_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _password(args: argparse.Namespace) -> tuple[str, Path]:
    if args.password_file is not None:
        return read_password(args.password_file), args.password_file
    path = args.data_dir / "password.txt"
    if path.exists():
        return read_password(path), path
    if os.environ.get("REPONET_NODE_PASSWORD"):
        password = read_password(None)
    else:
        password = secrets.token_hex(16)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password)
    return password, path


def _init_from_args(args: argparse.Namespace) -> dict[str, Any]:
    password, _ = _password(args)
    return init_network(
        args.data_dir,
        validators=args.validators,
        rpc_nodes=args.rpc_nodes,
        chain_id=args.chain_id,
        p2p_base_port=args.p2p_base_port or args.base_port + 100,
        period=args.period,
        request_timeout=args.request_timeout,
        epoch_length=args.epoch_length,
        accounts=args.accounts,
        allow={parse_address(a) for a in args.allow},
        password=password,
    )


def cmd_init_network(args: argparse.Namespace) -> None:
    summary = _init_from_args(args)
    print(f"initialized a {args.validators}-validator QBFT network in {args.data_dir}")
    print(f"chain id: {summary['chain_id']}")
    for node in summary["nodes"]:
        role = "validator" if node["validator"] else "rpc node"
        print(f"  {node['dir']}: {role} {node['address']} {node['enode']}")


# run ----------------------------------------------------------------------------------------------
def serve_network(args: argparse.Namespace) -> None:
    data_dir = DataDir(args.data_dir)
    password = read_password(args.password_file)
    limits = rpc_limits(args)
    block_time = args.block_time
    if block_time is None:
        from node.storage import ChainStore

        store = ChainStore(data_dir.chain_db)
        try:
            period = store.get_meta("block_period")
        finally:
            store.close()
        block_time = float(period) if period else 1.0
    if block_time < 0:
        raise ConfigError("--block-time must not be negative")
    service = open_network_node(
        data_dir,
        password,
        block_time=block_time,
        empty_blocks=args.empty_blocks,
        trailing_block=not args.no_trailing_block,
        limits=limits,
        pool_limits=pool_limits(args),
        extra_peers=list(args.peers),
        p2p_port=args.p2p_port,
        test_faults=args.test_faults,
        node_rules=parse_address(args.node_rules) if args.node_rules else None,
    )
    service.chain.build_seconds = build_seconds(args)
    try:
        asyncio.run(_serve_network(service, data_dir, args))
    finally:
        service.chain.store.close()


async def _serve_network(service: QbftNodeService, data_dir: DataDir, args: argparse.Namespace) -> None:
    server = RpcServer(service, rpc_auth(args, data_dir), tuple(args.ws_origins))
    server.methods = QbftMethods(service, args.test_faults)
    try:
        args.rpc_port = await server.start(
            args.rpc_host, args.rpc_port, tls_context(args.rpc_tls_cert, args.rpc_tls_key)
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"{args.rpc_host}:{args.rpc_port} is already in use") from exc
        raise
    try:
        await service.start_network()
    except OSError as exc:
        await server.stop()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"p2p port {service.peer_manager.port} is already in use") from exc
        raise
    head = service.chain.head
    logger.info(
        "serving JSON-RPC on %s:%d, head %d, chain id %d",
        args.rpc_host,
        args.rpc_port,
        head.block_number,
        service.chain.chain_id,
    )
    scheme = "https" if args.rpc_tls_cert else "http"
    print(f"enode: {service.peer_manager.enode}", flush=True)
    print(f"listening on {scheme}://{args.rpc_host}:{args.rpc_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("shutting down")
    await service.stop()
    await server.stop()


# network ------------------------------------------------------------------------------------------
def cmd_network(args: argparse.Namespace) -> None:
    root: Path = args.data_dir
    if not (root / NETWORK_FILE).exists():
        _init_from_args(args)
    elif args.allow:
        extra = {parse_address(a) for a in args.allow}
        for node_dir in sorted(p for p in root.glob("node*") if p.is_dir()):  # not the node<i>.log files
            allowlist = DataDir(node_dir).allowlist
            write_allowlist(allowlist, read_allowlist(allowlist) | extra)
    _, password_file = _password(args)
    summary = json.loads((root / NETWORK_FILE).read_text())
    stop = {"now": False}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children: list[tuple[dict[str, Any], subprocess.Popen[bytes], int]] = []
    network_key = args.rpc_jwt_key or root / RPC_KEY
    ensure_private_key(network_key)
    try:
        for i, node in enumerate(summary["nodes"]):
            port = args.base_port + i
            command = [
                sys.executable,
                "-m",
                "node.cli",
                "run",
                "--data-dir",
                str(root / node["dir"]),
                "--password-file",
                str(password_file),
                "--rpc-host",
                args.rpc_host,
                "--rpc-port",
                str(port),
                "--log-level",
                args.log_level,
            ]
            if args.block_time is not None:
                command += ["--block-time", str(args.block_time)]
            if args.test_faults:
                command.append("--test-faults")
            if args.empty_blocks:
                command.append("--empty-blocks")
            if args.no_trailing_block:
                command.append("--no-trailing-block")
            if args.txpool_system_senders:
                command += ["--txpool-system-senders", *args.txpool_system_senders]
            # one operator key for the whole local network: a token works on every node
            command += ["--rpc-jwt-key", str(network_key)]
            if args.rpc_auth:
                command += ["--rpc-auth", args.rpc_auth]
            log = open(root / f"{node['dir']}.log", "ab")
            child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            children.append((node, child, port))
        accounts = json.loads((root / "dev-accounts.json").read_text())
        print(f"RepoNet QBFT network: {len(summary['validators'])} validators, chain id {summary['chain_id']}")
        print("DEV ONLY: the account keys below are public")
        for node, child, port in children:
            role = "validator" if node["validator"] else "rpc node"
            print(
                f"  {node['dir']} ({role} {node['address']}): http://{args.rpc_host}:{port}"
                f"  log {root / (node['dir'] + '.log')}  pid {child.pid}"
            )
        print("dev accounts (allowed, funded):")
        for acct in accounts:
            print(f"  {acct['address']} {acct['private_key']}")
        print("Ctrl-C stops the network", flush=True)
        reported: set[int] = set()
        while not stop["now"]:
            time.sleep(0.2)
            for node, child, _ in children:
                if child.poll() is not None and child.pid not in reported:
                    reported.add(child.pid)
                    print(f"{node['dir']} exited with status {child.returncode} (see its log)", flush=True)
            if len(reported) == len(children):
                break
    finally:
        for _, child, _ in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, child, _ in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        print("network stopped", flush=True)
