"""Operator commands about assets: ``cash issue|redeem``, ``bond list``, ``price post``. Issuance and prices go
through the gateway's operator endpoints when it has them (sent by its settlement relayer), else they are signed over
JSON-RPC with the issuer or feeder key, like bond reads and redemptions."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contracts.deploy import contract
from gateway.chain.bindings.oracle import Oracle
from gateway.chain.bindings.tokens import Token
from gateway.ops.chain import from_units, price_to_raw, raw_to_price, send, to_units
from gateway.ops.client import ApiError, wait_settlement
from gateway.ops.exceptions import Refused
from gateway.ops.inputs import address_of, token_named
from gateway.ops.network import OPS_USER, Network


def _gateway_has(net: Network, path: str) -> bool:
    try:
        return path in net.gateway.get("/openapi.json").get("paths", {})
    except ApiError:
        return False


def _via_gateway(net: Network, path: str, body: dict[str, Any]) -> dict[str, Any]:
    ops = net.session(OPS_USER)
    return wait_settlement(ops, ops.post(path, body=body))


def cash_issue(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    t = token_named(net, args.token, "cash")
    to, units = address_of(args.to), to_units(args.amount, t.decimals)
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
    t = token_named(net, args.token, "cash")
    holder, units = address_of(args.holder), to_units(args.amount, t.decimals)
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
    bond, cash = token_named(net, args.bond, "bond"), token_named(net, args.cash, "cash")
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
