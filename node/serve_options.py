"""What the serving flags mean, shared by `reponet-node dev`/`run` and `reponet-node network`: the RPC listener's TLS
context, its token policy (and the operator's admin token), the budgets of client calls and connections, the block
build budget and the pool's limits. Each refuses a value that cannot work with a ConfigError naming the flag."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from node.datadir import DataDir
from node.exceptions import ConfigError
from node.rpc.auth import ALL, RpcAuth, ensure_private_key, issue_token, load_private_key, load_public_key
from node.rpc.budget import CallLimits
from node.rpc.limits import ServerLimits
from node.rpc.params import address as parse_address
from node.service import RpcLimits
from node.txpool import PoolLimits


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigError("--rpc-tls-cert and --rpc-tls-key go together")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load TLS certificate {cert} / key {key}: {exc}") from exc
    return context


ADMIN_TOKEN_SECONDS = 30 * 86400  # rewritten at every start


def rpc_auth(args: argparse.Namespace, data_dir: DataDir) -> RpcAuth:
    """The node's token policy; with the signing key at hand it also writes the operator's ``admin.token``."""
    required = args.rpc_auth == "on" if args.rpc_auth else args.command != "dev"
    if args.rpc_jwt_public_key is not None:
        data_dir.admin_token.unlink(missing_ok=True)
        return RpcAuth(required=required, public_key=load_public_key(args.rpc_jwt_public_key))
    key_file = args.rpc_jwt_key or data_dir.rpc_key
    key = load_private_key(key_file) if args.rpc_jwt_key else ensure_private_key(key_file)
    token = issue_token(key, subject="operator", permissions=[ALL], lifetime_seconds=ADMIN_TOKEN_SECONDS)
    data_dir.write_admin_token(token)
    return RpcAuth(required=required, public_key=key.public_key())


def rpc_limits(args: argparse.Namespace) -> RpcLimits:
    for flag in (
        "rpc_evm_timeout",
        "rpc_request_gas",
        "rpc_call_workers",
        "rpc_client_calls",
        "rpc_max_response_bytes",
        "rpc_ws_queue",
        "rpc_client_filters",
        "rpc_client_subscriptions",
        "rpc_connections_per_address",
        "rpc_idle_timeout",
    ):
        if getattr(args, flag) <= 0:
            raise ConfigError(f"--{flag.replace('_', '-')} must be positive")
    return RpcLimits(
        max_body_bytes=args.rpc_max_body,
        max_batch=args.rpc_batch_limit,
        max_log_range=args.rpc_logs_range,
        max_logs=args.rpc_logs_limit,
        call_gas_cap=args.rpc_gascap,
        calls=CallLimits(
            workers=args.rpc_call_workers,
            queue=max(0, args.rpc_call_queue),
            seconds=args.rpc_evm_timeout,
            request_gas=args.rpc_request_gas,
            per_client=args.rpc_client_calls,
        ),
        server=ServerLimits(
            max_response_bytes=args.rpc_max_response_bytes,
            ws_queue_messages=args.rpc_ws_queue,
            filters_per_client=args.rpc_client_filters,
            subscriptions_per_client=args.rpc_client_subscriptions,
            connections_per_address=args.rpc_connections_per_address,
            idle_seconds=args.rpc_idle_timeout,
        ),
    )


def build_seconds(args: argparse.Namespace) -> float:
    if args.block_build_seconds <= 0:
        raise ConfigError("--block-build-seconds must be positive")
    return float(args.block_build_seconds)


def pool_limits(args: argparse.Namespace) -> PoolLimits:
    if args.txpool_reserved_slots >= args.txpool_global_slots:
        raise ConfigError("--txpool-reserved-slots must be smaller than --txpool-global-slots")
    if args.txpool_max_tx_gas < 21_000:
        raise ConfigError("--txpool-max-tx-gas must be at least 21000")
    if args.txpool_queued_lifetime <= 0:
        raise ConfigError("--txpool-queued-lifetime must be positive")
    return PoolLimits(
        max_per_sender=args.txpool_account_slots,
        max_total=args.txpool_global_slots,
        max_queued_per_sender=args.txpool_queued_slots,
        max_queued_total=args.txpool_queued_global,
        queued_lifetime_seconds=args.txpool_queued_lifetime,
        reserved_for_system=max(0, args.txpool_reserved_slots),
        max_tx_gas=args.txpool_max_tx_gas,
        system_senders=frozenset(parse_address(a) for a in args.txpool_system_senders),
    )
