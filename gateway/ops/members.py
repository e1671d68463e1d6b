"""Operator commands about members: ``kyc list|approve|revoke`` as the compliance service user, ``wallet list|show``
with each wallet's verification read from the identity registry."""

from __future__ import annotations

import argparse
from typing import Any

from contracts.deploy import contract
from gateway.chain.bindings.registry import Registry
from gateway.chain.bindings.tokens import Token
from gateway.ops.chain import from_units
from gateway.ops.inputs import address_of
from gateway.ops.network import COMPLIANCE_USER, OPS_USER, Network


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
    address = address_of(args.address)
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
