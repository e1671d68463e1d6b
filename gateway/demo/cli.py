"""``reponet demo``: flags and exit statuses.

Exit statuses (:class:`gateway.exit_status.ExitStatus`): OK the story completed, ERROR unexpected, STEP_FAILED a step
failed (the message says which), CONFIG no network in the data directory, UNREACHABLE the gateway or the chain.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from contracts.exceptions import DeploymentFailed
from gateway.datadir import DataDirError
from gateway.exit_status import ExitStatus
from gateway.ops.client import ApiError
from gateway.ops.network import Network, add_data_dir


def register(top: Any) -> None:
    demo = top.add_parser("demo", help="a guided story of repos on a running network (after `reponet up`)")
    add_data_dir(demo)
    demo.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="story on stderr, one JSON summary on stdout"
    )
    demo.add_argument("--gateway-url", default=None, help="default: from the data directory")
    demo.add_argument("--rpc-url", default=None, help="default: from the data directory")
    demo.add_argument("--maturity-seconds", type=int, default=40, help="term of the repo that is repurchased")
    demo.add_argument("--default-seconds", type=int, default=15, help="term of the repo that defaults")
    demo.add_argument(
        "--chain-only",
        action="store_true",
        help="drive trading over JSON-RPC even when the gateway has the trading endpoints",
    )
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, _settings: Any) -> ExitStatus:
    from gateway.demo.exceptions import DemoError
    from gateway.demo.story import Story

    # With --json the story goes to stderr and stdout carries one JSON document.
    console = Console(highlight=False, soft_wrap=True, stderr=bool(args.json))
    try:
        network = Network(args.data_dir, args.gateway_url, args.rpc_url)
    except DataDirError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return ExitStatus.CONFIG
    try:
        try:
            network.gateway.get("/health")
            network.w3.eth.chain_id  # noqa: B018 - reachability
        except Exception as exc:
            console.print(f"[red]cannot reach the network[/red] ({exc}); is `reponet up` running?")
            return ExitStatus.UNREACHABLE
        console.print(f"[bold]RepoNet demo[/bold] against {network.gateway_url} and {network.rpc_url}")
        result = Story(
            network,
            console,
            maturity_seconds=args.maturity_seconds,
            default_after_seconds=args.default_seconds,
            use_gateway_trading=not args.chain_only,
        ).run()
    except (DemoError, DeploymentFailed, ApiError) as exc:
        console.print(f"[red]demo step failed:[/red] {exc}")
        return ExitStatus.STEP_FAILED
    finally:
        network.close()
    console.print(
        "\n[bold green]The demo completed.[/bold green] The network is still running; the members and "
        "their wallet keys stay (secrets/demo-wallets.json)."
    )
    if args.json:
        print(json.dumps(result.as_dict(), default=str))
    return ExitStatus.OK
