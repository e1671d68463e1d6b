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
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from web3 import Web3

from contracts.deploy import contract
from contracts.exceptions import DeploymentFailed
from gateway.chain.bindings.oracle import Oracle
from gateway.chain.bindings.registry import Registry
from gateway.chain.bindings.tokens import Token
from gateway.datadir import DataDirError, TokenInfo
from gateway.exit_status import ExitStatus
from gateway.ops.admin import AdminUsageError
from gateway.ops.admin import register as register_admin
from gateway.ops.chain import from_units, price_to_raw, raw_to_price, send, to_units
from gateway.ops.client import ApiError, SettlementFailed, wait_settlement
from gateway.ops.network import COMPLIANCE_USER, OPS_USER, Network, add_data_dir


class UsageError(Exception):
    """Bad arguments (unknown token, malformed address)."""


class Refused(Exception):
    """A precondition on chain is not met (e.g. no allowance to redeem)."""


Command = Callable[[argparse.Namespace, Network], tuple[Any, str]]


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, default=str, indent=None) if args.json else text)


def _token(net: Network, symbol: str | None, kind: str) -> TokenInfo:
    tokens = net.state.cash_tokens if kind == "cash" else net.state.bonds
    if symbol is None:
        return tokens[0]
    for t in tokens:
        if symbol.lower() in (t.symbol.lower(), t.address.lower(), t.isin.lower()):
            return t
    raise UsageError(f"no {kind} token {symbol!r}; known: {', '.join(t.symbol for t in tokens)}")


def _address(value: str) -> str:
    if not Web3.is_address(value):
        raise UsageError(f"not an address: {value}")
    return str(Web3.to_checksum_address(value))


# --- kyc ------------------------------------------------------------------------------------------------------
def kyc_list(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    params = {"status": args.status} if args.status else {}
    rows = net.session(COMPLIANCE_USER).every("/v1/kyc/applications", params)
    lines = [f"{'application':36}  {'status':16} {'hits':>4}  legal name (LEI)"]
    for a in rows:
        lines.append(f"{a['id']:36}  {a['status']:16} {len(a.get('hits', [])):>4}  {a['legal_name']} ({a['lei']})")
    return {"data": rows, "next_cursor": None}, "\n".join(lines) if rows else "no applications"


def kyc_approve(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    body = {"approve": not args.reject, "note": args.note}
    app = net.session(COMPLIANCE_USER).post(f"/v1/kyc/applications/{args.application}/decision", body=body)
    return app, f"application {app['id']}: {app['status']}"


def kyc_revoke(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    org = net.session(COMPLIANCE_USER).post(
        f"/v1/organizations/{args.organization}/kyc/revoke", body={"reason": args.reason}
    )
    queued = org.get("settlement_id")
    chain = f"on chain through settlement {queued}" if queued else "wallets no longer verified on chain"
    return org, f"{org['name']}: KYC {org['kyc_status']} ({chain})"


# --- wallet ---------------------------------------------------------------------------------------------------
def wallet_list(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    rows = [
        w
        for w in net.session(OPS_USER).every("/v1/wallets")
        if not args.organization or w["organization_id"] == args.organization
    ]
    registry = Registry(contract(net.w3, "IdentityRegistry", net.contract_address("identity_registry")))
    for w in rows:
        w["verified_on_chain"] = registry.is_verified(w["address"])
    lines = [f"{'address':42}  {'kind':10} {'on chain':8}  organization / label"]
    for w in rows:
        mark = "verified" if w["verified_on_chain"] else "-"
        lines.append(f"{w['address']:42}  {w['kind']:10} {mark:8}  {w['organization_id']} / {w['label']}")
    return {"data": rows, "next_cursor": None}, "\n".join(lines) if rows else "no wallets"


def wallet_show(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    address = _address(args.address)
    registry = Registry(contract(net.w3, "IdentityRegistry", net.contract_address("identity_registry")))
    data: dict[str, Any] = {
        "address": address,
        "verified": registry.is_verified(address),
        "identity": registry.identity_of(address),
        "balances": {},
    }
    for t in [*net.state.cash_tokens, *net.state.bonds]:
        units = Token(contract(net.w3, "CashToken", t.address)).balance_of(address)
        data["balances"][t.symbol] = from_units(units, t.decimals)
    balances = ", ".join(f"{v} {k}" for k, v in data["balances"].items())
    text = f"{address}: {'verified' if data['verified'] else 'NOT verified'} (identity #{data['identity']}); {balances}"
    return data, text


# --- cash, bonds, prices --------------------------------------------------------------------------------------
def _gateway_has(net: Network, path: str) -> bool:
    try:
        return path in net.gateway.get("/openapi.json").get("paths", {})
    except ApiError:
        return False


def _via_gateway(net: Network, path: str, body: dict[str, Any]) -> dict[str, Any]:
    ops = net.session(OPS_USER)
    return wait_settlement(ops, ops.post(path, body=body))


def cash_issue(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    t = _token(net, args.token, "cash")
    to, units = _address(args.to), to_units(args.amount, t.decimals)
    if _gateway_has(net, "/v1/operator/cash/issue"):
        settlement = _via_gateway(
            net, "/v1/operator/cash/issue", {"token": t.address, "wallet": to, "amount": args.amount}
        )
        data = {
            "token": t.symbol,
            "to": to,
            "amount": args.amount,
            "settlement": settlement["id"],
            "tx_hash": (settlement.get("steps") or [{}])[-1].get("tx_hash"),
        }
        return data, f"issued {args.amount} {t.symbol} to {to} (gateway settlement {settlement['id']})"
    receipt = send(net.w3, net.issuer, contract(net.w3, "CashToken", t.address).functions.mint(to, units), "mint")
    data = {"token": t.symbol, "to": to, "amount": args.amount, "tx_hash": receipt["transactionHash"].to_0x_hex()}
    return data, f"issued {args.amount} {t.symbol} to {to} in {data['tx_hash']}"


def cash_redeem(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    t = _token(net, args.token, "cash")
    holder, units = _address(args.holder), to_units(args.amount, t.decimals)
    token = contract(net.w3, "CashToken", t.address)
    allowance = Token(token).allowance(holder, net.issuer.address)
    if allowance < units:
        raise Refused(
            f"{holder} has allowed the issuer {from_units(allowance, t.decimals)} {t.symbol}; "
            f"it must approve {net.issuer.address} for {args.amount} first"
        )
    receipt = send(net.w3, net.issuer, token.functions.burnFrom(holder, units), "burnFrom")
    data = {
        "token": t.symbol,
        "holder": holder,
        "amount": args.amount,
        "tx_hash": receipt["transactionHash"].to_0x_hex(),
    }
    return data, f"redeemed {args.amount} {t.symbol} from {holder} in {data['tx_hash']}"


def _iso(seconds: int) -> str | None:
    """Times as the API gives them: UTC ISO 8601 (0: none)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z") if seconds else None


def bond_list(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    cash = net.state.cash_tokens[0]
    oracle = Oracle(contract(net.w3, "PriceOracle", net.contract_address("price_oracle")))
    rows = []
    for b in net.state.bonds:
        bond = contract(net.w3, "BondToken", b.address)
        try:
            reading = oracle.price(b.address, cash.address)
            price: str | None = f"{raw_to_price(reading.price, b.decimals, cash.decimals):.4f}"  # percent of par
            updated = reading.updated_at
        except Exception:
            price, updated = None, 0
        rows.append(
            {
                "symbol": b.symbol,
                "isin": b.isin,
                "address": b.address,
                "name": bond.functions.name().call(),
                "outstanding": from_units(int(bond.functions.totalSupply().call()), b.decimals),
                "maturity": _iso(Token(bond).maturity()),
                "price_percent_of_par": price,
                "price_updated_at": _iso(int(updated)),
            }
        )
    lines = [f"{'symbol':8} {'isin':12}  {'outstanding':>20}  {'% of par':>9}  address"]
    for r in rows:
        amount = f"{Decimal(r['outstanding']):,.2f}"
        price = r["price_percent_of_par"] or "stale"
        lines.append(f"{r['symbol']:8} {r['isin']:12}  {amount:>20}  {price:>9}  {r['address']}")
    return {"data": rows, "next_cursor": None}, "\n".join(lines)


def price_post(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    bond, cash = _token(net, args.bond, "bond"), _token(net, args.cash, "cash")
    percent = args.price_percent_of_par
    raw = price_to_raw(percent, bond.decimals, cash.decimals)
    if _gateway_has(net, "/v1/operator/prices"):
        ops = net.session(OPS_USER)
        body = {"asset": bond.address, "quote": cash.address, "price_percent_of_par": percent}
        answer = ops.post("/v1/operator/prices", body=body)
        data = {"bond": bond.symbol, "cash": cash.symbol, "price_percent_of_par": percent}
        if answer.get("status") == "awaiting_confirmation":
            data.update(posting=answer["id"], status=answer["status"], move_bps=answer.get("move_bps"))
            return data, (
                f"{bond.symbol} at {percent} (percent of par) moves {answer.get('move_bps')} bps: awaiting a second "
                f"operator person (POST /v1/operator/prices/{answer['id']}/confirm)"
            )
        settlement = wait_settlement(ops, answer)
        data["settlement"] = settlement["id"]
        return (
            data,
            f"{bond.symbol} at {percent} (percent of par) in {cash.symbol} (gateway settlement {settlement['id']})",
        )
    oracle = contract(net.w3, "PriceOracle", net.contract_address("price_oracle"))
    receipt = send(net.w3, net.feeder, oracle.functions.setPrice(bond.address, cash.address, raw), "setPrice")
    data = {
        "bond": bond.symbol,
        "cash": cash.symbol,
        "price_percent_of_par": percent,
        "tx_hash": receipt["transactionHash"].to_0x_hex(),
    }
    return data, f"{bond.symbol} at {percent} (percent of par) in {cash.symbol}, tx {data['tx_hash']}"


# --- status ---------------------------------------------------------------------------------------------------
def _rpc(url: str, method: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
    answer = httpx.post(url, json=body, headers=headers, timeout=5).json()
    if "error" in answer:
        raise RuntimeError(answer["error"].get("message"))
    return answer["result"]


def status(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    data: dict[str, Any] = {"rpc_url": net.rpc_url, "gateway_url": net.gateway_url, "healthy": True}
    try:
        head = net.w3.eth.get_block("latest")
        data["chain"] = {
            "ok": True,
            "chain_id": net.w3.eth.chain_id,
            "head": int(head["number"]),
            "head_time": int(head["timestamp"]),
        }
        try:
            data["chain"]["peers"] = int(_rpc(net.rpc_url, "net_peerCount", net.rpc_token), 16)
        except Exception:
            data["chain"]["peers"] = None
        try:
            data["chain"]["permissioning"] = _rpc(net.rpc_url, "reponet_permissioning", net.rpc_token).get(
                "accountRules"
            )
        except Exception:
            data["chain"]["permissioning"] = None
    except Exception as exc:
        data["chain"] = {"ok": False, "error": str(exc)}
        data["healthy"] = False
    try:
        ready = net.gateway.get("/readyz")
        data["gateway"] = {"ok": True, **ready}
    except ApiError as exc:
        data["gateway"] = {"ok": False, "status": exc.status, "detail": exc.problem}
        data["healthy"] = False
    c, g = data["chain"], data["gateway"]
    lines = [
        f"chain    {net.rpc_url}: "
        + (
            f"chain id {c['chain_id']}, head {c['head']}, peers {c['peers']}, "
            f"account rules {c.get('permissioning') or 'n/a'}"
            if c["ok"]
            else f"UNREACHABLE ({c['error']})"
        ),
        f"gateway  {net.gateway_url}: "
        + (
            f"{g.get('status')} (" + ", ".join(f"{k} {v['detail']}" for k, v in g.get("checks", {}).items()) + ")"
            if g["ok"]
            else f"NOT READY ({g.get('status')}: {g.get('detail')})"
        ),
    ]
    return data, "\n".join(lines)


def env(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    """A shell line that loads the gateway's settings (``eval "$(reponet env)"``) for the gateway's own commands
    (keys rotate, audit verify); it names the owner-only file rather than printing the secrets in it."""
    path = net.dir.env_file.resolve()
    names = sorted(line.split("=", 1)[0] for line in path.read_text().splitlines() if "=" in line)
    return {"env_file": str(path), "variables": names}, f"set -a; . {shlex.quote(str(path))}; set +a"


# --- wiring ---------------------------------------------------------------------------------------------------
def register(top: Any) -> None:
    def command(parent: Any, name: str, fn: Command, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text)
        add_data_dir(parser)
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
        parser.set_defaults(handler=_handler(fn))
        return parser

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
