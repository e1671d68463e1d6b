"""``reponet-node``: init a data directory, run a node, or start a local dev chain.

Exit codes (:class:`ExitStatus`): 0 ok, 1 unexpected error, 2 usage, 3 bad genesis, 4 keystore (missing,
or wrong password), 5 RPC port in use, 6 data directory or configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import errno
import json
import logging
import os
import secrets
import signal
import sys
import time
from typing import Any

from node.datadir import DataDir, init_data_dir, open_chain
from node.devchain import dev_accounts, dev_genesis, new_validator_key
from node.exceptions import ConfigError, GenesisError, KeystoreError, PortInUse, StorageError
from node.flags import build_parser
from node.genesis import load_genesis
from node.keystore import read_password, read_private_key_file
from node.permissioning import read_allowlist, write_allowlist
from node.rpc.auth import (
    issue_token,
    load_private_key,
    permissions_for,
    public_key_pem,
)
from node.rpc.params import address as parse_address
from node.rpc.server import RpcServer
from node.serve_options import build_seconds, pool_limits, rpc_auth, rpc_limits, tls_context
from node.service import NodeService

logger = logging.getLogger("node.cli")  # also when run as python -m node.cli


@enum.unique
class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    BAD_GENESIS = 3
    KEYSTORE = 4
    PORT_IN_USE = 5
    CONFIG = 6
    INTERRUPTED = 130


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, json_logs: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    text_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter(text_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("eth").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def parse_lifetime(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        value = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError as exc:
        raise ConfigError(f"--expires {text!r}: use a number with s, m, h or d") from exc
    if value <= 0:
        raise ConfigError("--expires must be positive")
    return value


def cmd_token(args: argparse.Namespace) -> None:
    key_file = args.key or DataDir(args.data_dir).rpc_key
    if not key_file.exists():
        raise ConfigError(f"no token key at {key_file}: start the node once, or pass --key")
    key = load_private_key(key_file)
    if args.token_command == "public-key":  # noqa: S105 (a subcommand name)
        print(public_key_pem(key), end="")
        return
    permissions = permissions_for(args.methods.split(","))
    if not permissions:
        raise ConfigError("--methods names no method")
    lifetime = parse_lifetime(args.expires)
    token = issue_token(key, subject=args.subject, permissions=permissions, lifetime_seconds=lifetime)
    if args.json:
        expires = int(time.time() + lifetime)
        print(json.dumps({"token": token, "subject": args.subject, "permissions": permissions, "exp": expires}))
    else:
        print(token)


def cmd_init(args: argparse.Namespace) -> None:
    genesis = load_genesis(args.genesis)
    password = read_password(args.password_file)
    key = read_private_key_file(args.validator_key, password) if args.validator_key else new_validator_key()
    genesis_hash = init_data_dir(DataDir(args.data_dir), genesis, key, password)
    print(f"initialized {args.data_dir}")
    print(f"chain id: {genesis.chain_id}")
    print(f"genesis: 0x{genesis_hash.hex()}")
    print(f"validator: {key.public_key.to_checksum_address()}")


def cmd_dev(args: argparse.Namespace) -> None:
    data_dir = DataDir(args.data_dir)
    password_file = args.data_dir / "dev-password.txt"
    allow = {parse_address(a) for a in args.allow}
    accounts = dev_accounts(args.accounts, args.data_dir / "dev-accounts.json")
    if not data_dir.chain_db.exists():
        data_dir.create()
        accounts = dev_accounts(args.accounts, args.data_dir / "dev-accounts.json")
        password = secrets.token_hex(16)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password)
        genesis = dev_genesis(args.chain_id, accounts, int(time.time()))
        init_data_dir(
            data_dir, genesis, new_validator_key(), password, {bytes.fromhex(a.address[2:]) for a in accounts} | allow
        )
    elif allow:
        write_allowlist(data_dir.allowlist, read_allowlist(data_dir.allowlist) | allow)
    args.password_file = args.password_file or password_file
    args.dev_keys = {bytes.fromhex(acct.address[2:]): bytes.fromhex(acct.private_key[2:]) for acct in accounts}

    def banner(service: NodeService) -> None:
        chain = service.chain
        print("RepoNet dev node (DEV ONLY: the keys below are public)")
        print(f"chain id: {chain.chain_id}")
        print(f"validator: 0x{(chain.consensus.local_address or b'').hex()}")
        print(f"rpc: http://{args.rpc_host}:{args.rpc_port}  ws://{args.rpc_host}:{args.rpc_port}")
        print("dev accounts (allowed, funded):")
        for acct in accounts:
            print(f"  {acct.address} {acct.private_key}")
        for extra in sorted(allow):
            print(f"  0x{extra.hex()} (allowed)")
        sys.stdout.flush()

    serve(args, banner)


def serve(args: argparse.Namespace, banner: Any = None) -> None:
    data_dir = DataDir(args.data_dir)
    password = read_password(args.password_file)
    chain, permissioner, _key = open_chain(data_dir, password)
    if args.block_time is None:
        period = chain.store.get_meta("block_period")
        args.block_time = float(period) if period else 1.0
    if args.block_time < 0:
        raise ConfigError("--block-time must not be negative")
    limits = rpc_limits(args)
    chain.build_seconds = build_seconds(args)
    service = NodeService(
        chain,
        permissioner,
        args.data_dir,
        args.block_time,
        args.empty_blocks,
        limits,
        pool_limits(args),
        trailing_block=not args.no_trailing_block,
    )
    service.dev_keys = dict(getattr(args, "dev_keys", {}))  # only `dev` sets them: its keys are public
    try:
        asyncio.run(_serve(service, data_dir, args, banner))
    finally:
        chain.store.close()


async def _serve(service: NodeService, data_dir: DataDir, args: argparse.Namespace, banner: Any) -> None:
    server = RpcServer(service, rpc_auth(args, data_dir), tuple(args.ws_origins))
    try:
        args.rpc_port = await server.start(
            args.rpc_host, args.rpc_port, tls_context(args.rpc_tls_cert, args.rpc_tls_key)
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"{args.rpc_host}:{args.rpc_port} is already in use") from exc
        raise
    service.start()
    head = service.chain.head
    logger.info(
        "serving JSON-RPC on %s:%d, head %d, chain id %d",
        args.rpc_host,
        args.rpc_port,
        head.block_number,
        service.chain.chain_id,
    )
    if banner is not None:
        banner(service)
    scheme = "https" if args.rpc_tls_cert else "http"
    print(f"listening on {scheme}://{args.rpc_host}:{args.rpc_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("shutting down")
    await service.stop()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(getattr(args, "log_level", "warning"), getattr(args, "json_logs", False))
    from node.qbft.cli import wrap_commands

    commands = wrap_commands({"init": cmd_init, "run": serve, "dev": cmd_dev, "token": cmd_token})
    try:
        commands[args.command](args)
    except GenesisError as exc:
        return _fail(ExitStatus.BAD_GENESIS, f"bad genesis: {exc}")
    except KeystoreError as exc:
        return _fail(ExitStatus.KEYSTORE, f"keystore: {exc}")
    except PortInUse as exc:
        return _fail(ExitStatus.PORT_IN_USE, f"port in use: {exc}")
    except (ConfigError, StorageError) as exc:
        return _fail(ExitStatus.CONFIG, str(exc))
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    return ExitStatus.OK


def _fail(status: ExitStatus, message: str) -> int:
    print(f"reponet-node: error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
