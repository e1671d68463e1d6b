"""Operator commands: ``kyc``, ``wallet``, ``cash``, ``bond``, ``price``, ``status``, ``env``.

They find the network in the ``reponet up`` data directory (``--data-dir``, default ``./.reponet``). Gateway
steps (KYC, wallets, health) go through the HTTPS API as the local service users ``up`` created (``ops``:
operator admin, ``compliance``: compliance officer), so every decision is authorised, four-eyes checked and
audited like a person's. Cash issuance and prices go through the gateway's operator endpoints when it has them
(sent by its settlement relayer), else they are signed over JSON-RPC with the issuer key, like bond reads and
redemptions.

Human-readable output by default; ``--json`` (before or after the command) prints one JSON document.

Exit statuses (:class:`gateway.exit_status.ExitStatus`): OK, ERROR unexpected, USAGE, REFUSED by the gateway
(four-eyes, conflict, not found, forbidden) or a precondition (no allowance), CONFIG no network in the data
directory, UNREACHABLE the gateway or chain, CHAIN_FAILED a chain transaction reverted (directly or in a gateway
settlement), CHECK_FAILED ``status`` found something unhealthy.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import httpx

from contracts.exceptions import DeploymentFailed
from gateway.datadir import DataDirError
from gateway.exit_status import ExitStatus
from gateway.ops.admin import AdminUsageError
from gateway.ops.admin import register as register_admin
from gateway.ops.assets import bond_list, cash_issue, cash_redeem, price_post
from gateway.ops.client import ApiError, SettlementFailed
from gateway.ops.exceptions import Refused, UsageError
from gateway.ops.members import kyc_approve, kyc_list, kyc_revoke, wallet_list, wallet_show
from gateway.ops.network import Network, add_data_dir
from gateway.ops.status import env, status

Command = Callable[[argparse.Namespace, Network], tuple[Any, str]]


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, default=str, indent=None) if args.json else text)


def command(parent: Any, name: str, fn: Command, help_text: str) -> argparse.ArgumentParser:
    """An operator command: finds the network by ``--data-dir``, prints text or ``--json``."""
    parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text)
    add_data_dir(parser)
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    parser.set_defaults(handler=_handler(fn))
    return parser


def register(top: Any) -> None:
    kyc = top.add_parser("kyc", help="KYC applications and member status").add_subparsers(dest="command", required=True)
    ls = command(kyc, "list", kyc_list, "list KYC applications")
    ls.add_argument("--status", help="e.g. pending_review, screening_hits, approved, rejected")
    ap = command(kyc, "approve", kyc_approve, "approve (or --reject) an application as compliance")
    ap.add_argument("application")
    ap.add_argument("--note", default="approved by the operator CLI")
    ap.add_argument("--reject", action="store_true")
    rv = command(kyc, "revoke", kyc_revoke, "revoke a member's KYC (its wallets stop being verified)")
    rv.add_argument("organization")
    rv.add_argument("--reason", required=True)

    wallet = top.add_parser("wallet", help="wallets").add_subparsers(dest="command", required=True)
    wl = command(wallet, "list", wallet_list, "every member wallet and whether it is verified on chain")
    wl.add_argument("--organization", help="only this organization's id")
    ws = command(wallet, "show", wallet_show, "on-chain verification and balances of an address")
    ws.add_argument("address")

    cash = top.add_parser("cash", help="tokenized cash").add_subparsers(dest="command", required=True)
    ci = command(cash, "issue", cash_issue, "mint cash to a verified wallet (against money received)")
    ci.add_argument("--to", required=True)
    ci.add_argument("--amount", required=True, help="decimal, e.g. 1000000.50")
    ci.add_argument("--token", help="cash token symbol or address (default: the first)")
    cr = command(cash, "redeem", cash_redeem, "burn a holder's cash it approved to the issuer (money paid out)")
    cr.add_argument("--holder", required=True)
    cr.add_argument("--amount", required=True)
    cr.add_argument("--token")

    bond = top.add_parser("bond", help="bond tokens").add_subparsers(dest="command", required=True)
    command(bond, "list", bond_list, "bonds with outstanding amount, maturity and price")

    price = top.add_parser("price", help="oracle prices").add_subparsers(dest="command", required=True)
    pp = command(price, "post", price_post, "post a bond's price in percent of par")
    pp.add_argument("--bond", required=True, help="symbol, ISIN or address")
    pp.add_argument("--price-percent-of-par", "--price", dest="price_percent_of_par", required=True, help="e.g. 98.75")
    pp.add_argument("--cash", help="quote cash token (default: the first)")

    register_admin(top, command)
    command(top, "status", status, "chain head and peers, node permissioning, gateway readiness")
    command(top, "env", env, 'the gateway\'s settings as shell exports: eval "$(reponet env)"; reponet keys rotate')


def _handler(fn: Command) -> Callable[[argparse.Namespace, Any], ExitStatus]:
    def run(args: argparse.Namespace, _settings: Any) -> ExitStatus:
        try:
            net = Network(args.data_dir)
        except DataDirError as exc:
            print(f"reponet: {exc}")
            return ExitStatus.CONFIG
        try:
            data, text = fn(args, net)
        except (UsageError, AdminUsageError) as exc:
            print(f"reponet: {exc}")
            return ExitStatus.USAGE
        except Refused as exc:
            print(f"reponet: {exc}")
            return ExitStatus.REFUSED
        except ApiError as exc:
            print(f"reponet: {exc}")
            return ExitStatus.UNREACHABLE if exc.status == 0 else ExitStatus.REFUSED
        except (DeploymentFailed, SettlementFailed) as exc:
            print(f"reponet: {exc}")
            return ExitStatus.CHAIN_FAILED
        except (OSError, httpx.HTTPError) as exc:
            print(f"reponet: cannot reach the network: {exc}")
            return ExitStatus.UNREACHABLE
        finally:
            net.close()
        _out(args, data, text)
        if fn is status and not data["healthy"]:
            return ExitStatus.CHECK_FAILED
        return ExitStatus.OK

    return run
