"""``reponet up``: flags, the run (steps, banner, supervision) and its exit statuses.

Exit statuses (:class:`gateway.exit_status.ExitStatus`): OK stopped cleanly (Ctrl-C, SIGTERM), ERROR unexpected,
USAGE, CONFIG configuration or data directory, CHILD_FAILED a child process (node, gateway) never became ready or
kept crashing (more than ``--max-restarts`` times in five minutes; a single crash is restarted), NOT_AVAILABLE a
requested feature is not available yet (``--validators``), CHAIN_FAILED a chain or deployment step failed.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from rich.console import Console

from contracts.exceptions import DeploymentFailed
from gateway.datadir import DataDirError
from gateway.exit_status import ExitStatus
from gateway.ops.network import add_data_dir
from gateway.orchestrator.supervisor import ChildFailed, Restart, RestartPolicy, Terminated, install_signal_handlers
from gateway.orchestrator.up import (
    ADMIN_EMAIL,
    DEFAULT_ADMIN_DELAY,
    DEFAULT_CHAIN_ID,
    NotAvailable,
    Up,
    UpConfig,
    UpError,
    urls_banner,
)

logger = logging.getLogger(__name__)


def register(top: Any) -> None:
    """Add ``up`` to the ``reponet`` subcommands."""
    up = top.add_parser("up", help="start the whole network (node, contracts, gateway) and keep it running")
    add_data_dir(up)
    up.add_argument("--rpc-host", default=None, help="node JSON-RPC host (default 127.0.0.1)")
    up.add_argument("--rpc-port", type=int, default=None, help="node JSON-RPC port (default 8545)")
    up.add_argument("--host", default=None, help="gateway host (default 127.0.0.1)")
    up.add_argument("--port", type=int, default=None, help="gateway HTTPS port (default 8443)")
    up.add_argument("--rpc-url", default=None, help="use this existing chain (Anvil, Besu) instead of a node")
    up.add_argument(
        "--rpc-token",
        default=None,
        help="with --rpc-url: the chain's JSON-RPC bearer token, if it requires one (else REPONET_CHAIN_RPC_TOKEN)",
    )
    up.add_argument(
        "--operator-key",
        default=None,
        help="with --rpc-url: a funded hex key to deploy with (else a new key is generated)",
    )
    up.add_argument(
        "--validators",
        type=int,
        default=None,
        help="a local QBFT network of N validators (JSON-RPC on --rpc-port and the next N-1 ports)",
    )
    up.add_argument(
        "--block-time",
        type=float,
        default=None,
        help="seconds between blocks of the local chain (default 0.5 on one node, 1 on a QBFT network of --validators)",
    )
    up.add_argument("--chain-id", type=int, default=DEFAULT_CHAIN_ID, help="chain id of a new local chain")
    up.add_argument("--admin-email", default=ADMIN_EMAIL, help="the operator admin's login")
    up.add_argument(
        "--admin-delay",
        type=int,
        default=DEFAULT_ADMIN_DELAY,
        help="seconds an on-chain admin action (role grant, admin setting) waits between the multisig scheduling and "
        f"executing it (default {DEFAULT_ADMIN_DELAY}; fixed at the first run, changed later by the ceremony)",
    )
    up.add_argument("--no-wait", action="store_true", help="set up, print, then stop everything (for scripts)")
    up.add_argument(
        "--max-restarts",
        type=int,
        default=RestartPolicy.max_restarts,
        help="restart a crashed node or gateway at most this many times in five minutes, then stop (default "
        f"{RestartPolicy.max_restarts}; 0 stops at the first crash)",
    )
    up.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="N API replicas behind HAProxy on --port, the background work in two worker processes electing a "
        "leader per kind (needs --database and --broker; default: one embedded gateway on SQLite)",
    )
    up.add_argument("--database", default=None, help="with --replicas: postgresql://… shared by every process")
    up.add_argument("--broker", default=None, help="with --replicas: redis://… (event stream, shared rate limits)")
    up.set_defaults(handler=cmd_up)


def cmd_up(args: argparse.Namespace, _settings: Any) -> ExitStatus:
    console = Console(highlight=False, soft_wrap=True)
    config = UpConfig(
        data_dir=args.data_dir,
        node_host=args.rpc_host,
        node_port=args.rpc_port,
        gateway_host=args.host,
        gateway_port=args.port,
        rpc_url=args.rpc_url,
        operator_key=args.operator_key,
        rpc_token=args.rpc_token or os.environ.get("REPONET_CHAIN_RPC_TOKEN"),
        validators=args.validators or 1,
        validators_given=args.validators is not None,
        block_time=args.block_time,
        chain_id=args.chain_id,
        admin_email=args.admin_email,
        admin_delay=args.admin_delay,
        replicas=max(0, args.replicas),
        database_url=args.database,
        broker_url=args.broker,
    )
    install_signal_handlers()
    up = Up(config, console)
    try:
        steps = [
            ("checking the data directory and ports", up.configure),
            ("writing the genesis", up.init_node),
            ("starting the node", up.start_node),
            ("deploying and wiring the contracts", up.deploy),
            ("pointing permissioning at AccountRules", up.permission),
            ("preparing the gateway database and users", up.prepare_gateway),
            ("starting the gateway", up.start_gateway),
            ("enrolling the operator users", up.enroll),
            ("listing instruments", up.list_instruments),
            ("starting the risk service", up.start_risk),
            ("starting the price feed", up.start_feed),
            ("starting the surveillance service", up.start_surveillance),
            ("starting the GC matching service", up.start_match),
        ]
        for title, run in steps:
            with console.status(f"{title}…"):
                run()
        for text in up.printouts:
            console.print(text, markup=False)
        console.print(urls_banner(up.state, config.data_dir), markup=False)
        console.print("[bold green]RepoNet is up.[/bold green] Ctrl-C stops everything.")
        console.file.flush()
        if not args.no_wait:

            def report(restart: Restart) -> None:
                console.print(
                    f"[yellow]{restart.name} exited with status {restart.returncode}[/yellow]; restarting it in "
                    f"{restart.pause:.0f} s (restart {restart.attempt} of {policy.max_restarts} allowed in "
                    f"{policy.window_seconds / 60:.0f} min)",
                    markup=True,
                )
                console.file.flush()

            policy = RestartPolicy(max_restarts=max(0, args.max_restarts))
            up.supervisor.watch(policy, report)
        return ExitStatus.OK
    except (KeyboardInterrupt, Terminated):
        console.print("\nstopping…")
        return ExitStatus.OK
    except ChildFailed as exc:
        console.print(f"[bold red]{exc}[/bold red]; stopping the rest. Last lines of {exc.log}:", markup=True)
        console.print(exc.log_tail(), markup=False)
        return ExitStatus.CHILD_FAILED
    except NotAvailable as exc:
        console.print(f"[red]not available yet:[/red] {exc}")
        return ExitStatus.NOT_AVAILABLE
    except (UpError, DataDirError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return ExitStatus.CONFIG
    except DeploymentFailed as exc:
        console.print(f"[red]chain step failed:[/red] {exc}")
        return ExitStatus.CHAIN_FAILED
    finally:
        stopped = up.supervisor.stop_all()
        if stopped:
            console.print(f"stopped {', '.join(stopped)}")
