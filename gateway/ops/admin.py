"""``reponet governance``: the on-chain admin ceremony, through the multisig and the manager's delay
(contracts/CEREMONY.md).

    reponet governance propose grant-role identity_registry KYC_AGENT_ROLE 0xabc… --owner 1  # phase 1
    reponet governance approve 7 --owner 2
    reponet governance execute 7 --owner 2                 # scheduled; ready after the delay
    reponet governance propose-execute 7 --owner 1         # phase 2 (after the delay) -> proposal 8
    reponet governance approve 8 --owner 2 && reponet governance execute 8 --owner 2
    reponet governance show 8 · reponet governance roles 0xabc…

Each command signs as one owner: ``--owner N`` (``secrets/admin-owner-N.key`` of a local data dir) or
``--key-file`` (an owner key kept elsewhere). Nothing here holds more than one owner's key at a time.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from contracts.ceremony import Ceremony, ProposalView
from contracts.deploy import contract
from contracts.governance import Governance, admin_powers, roles_held
from gateway.ops.network import Network
from gateway.ops.targets import SYSTEM_ARTIFACTS, owner_key_name, token_targets

Command = Callable[[argparse.Namespace, Network], tuple[Any, str]]
ACTIONS = {
    "grant-role": "contract, role name, account",
    "revoke-role": "contract, role name, account",
    "add-owner": "account",
    "remove-owner": "account",
    "allow-sender": "account (an AccountRules system account: it may send transactions)",
    "list-token": "token (listed in the repo engine's token table: repos may then name it)",
}


class AdminUsageError(ValueError):
    """Bad arguments to an admin command (unknown contract, role or action)."""


def _governance(net: Network) -> Governance:
    c = net.state.contracts
    if "admin_manager" not in c:
        raise AdminUsageError("this network has no AdminManager (made before least privilege): use a fresh data dir")
    return Governance(
        admin_multisig=Web3.to_checksum_address(c["admin_multisig"]),
        admin_manager=Web3.to_checksum_address(c["admin_manager"]),
    )


def _targets(net: Network) -> list[tuple[str, str]]:
    s = net.state
    system = [(name, s.contracts[key]) for key, name in SYSTEM_ARTIFACTS.items() if key in s.contracts]
    return [*system, *token_targets(s.cash_tokens, s.bonds)]


def _contract(net: Network, name: str) -> tuple[str, str]:
    """``identity_registry`` (a system contract), a token symbol, or an address of either, as (artifact, address)."""
    for key, artifact in SYSTEM_ARTIFACTS.items():
        if name.lower() in (key, net.state.contracts.get(key, "").lower()):
            return artifact, net.state.contracts[key]
    for artifact, address in token_targets(net.state.cash_tokens, net.state.bonds):
        symbols = [t.symbol.lower() for t in [*net.state.cash_tokens, *net.state.bonds] if t.address == address]
        if name.lower() in (address.lower(), *symbols):
            return artifact, address
    raise AdminUsageError(f"no contract {name!r}; known: {', '.join(SYSTEM_ARTIFACTS)} and the token symbols")


def _owner(args: argparse.Namespace, net: Network) -> LocalAccount:
    if args.key_file is not None:
        signer: LocalAccount = Account.from_key(Path(args.key_file).read_text().strip())
        return signer
    if args.owner is None:
        raise AdminUsageError("say which owner signs: --owner N (data dir) or --key-file PATH")
    name = owner_key_name(args.owner)
    if not net.dir.has_secret(f"{name}.key"):
        raise AdminUsageError(f"no key {name}.key in this data dir: use --key-file")
    return net.dir.account(name)


def _address(value: str) -> str:
    if not Web3.is_address(value):
        raise AdminUsageError(f"not an address: {value}")
    return str(Web3.to_checksum_address(value))


def _call(net: Network, ceremony: Ceremony, action: str, params: list[str]) -> tuple[str, str]:
    gov = ceremony.governance
    if action in ("grant-role", "revoke-role"):
        if len(params) != 3:
            raise AdminUsageError(f"{action} takes {ACTIONS[action]}")
        artifact, address = _contract(net, params[0])
        c = contract(net.w3, artifact, address)
        if not params[1].endswith("_ROLE") or not hasattr(c.functions, params[1]):
            raise AdminUsageError(f"{artifact} has no role {params[1]}")
        role = getattr(c.functions, params[1])().call()
        fn = "grantRole" if action == "grant-role" else "revokeRole"
        return ceremony.admin_call(artifact, address, fn, role, _address(params[2]))
    if len(params) != 1:
        raise AdminUsageError(f"{action} takes {ACTIONS.get(action, 'see --help')}")
    if action in ("add-owner", "remove-owner"):
        fn = "addOwner" if action == "add-owner" else "removeOwner"
        return ceremony.admin_call("AdminMultisig", gov.admin_multisig, fn, _address(params[0]))
    if action == "allow-sender":
        rules = net.state.contracts["account_rules"]
        return ceremony.admin_call("AccountRules", rules, "setSystemAccount", _address(params[0]), True)
    if action == "list-token":
        engine = net.state.contracts["repo_engine"]
        return ceremony.admin_call("RepoEngine", engine, "listToken", _address(params[0]))
    raise AdminUsageError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")


def _describe(view: ProposalView) -> tuple[dict[str, Any], str]:
    ready = datetime.fromtimestamp(view.ready_at, UTC).isoformat() if view.ready_at else "-"
    data = {**view.__dict__, "phase": view.phase.value, "ready_at_iso": ready}
    text = (
        f"proposal {view.id}: {view.phase.value} {view.target} {view.data[:10]}…; approvals {view.approvals}/"
        f"{view.threshold}; {'executed' if view.executed else 'open'}; admin call ready at {ready}"
    )
    return data, text


def propose(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    ceremony = Ceremony(net.w3, _governance(net))
    target, data = _call(net, ceremony, args.action, args.params)
    proposal_id = ceremony.propose_schedule(_owner(args, net), target, data)
    view, text = _describe(ceremony.view(proposal_id))
    return view, text + "\nnext: a second owner approves and executes it (that schedules the call; the delay starts)"


def propose_execute(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    ceremony = Ceremony(net.w3, _governance(net))
    proposal_id = ceremony.propose_execute(_owner(args, net), args.proposal)
    view, text = _describe(ceremony.view(proposal_id))
    return view, text + "\nnext: a second owner approves; any owner executes it once the delay has passed"


def propose_cancel(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    ceremony = Ceremony(net.w3, _governance(net))
    proposal_id = ceremony.propose_cancel(_owner(args, net), args.proposal)
    return _describe(ceremony.view(proposal_id))


def approve(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    ceremony = Ceremony(net.w3, _governance(net))
    ceremony.approve(_owner(args, net), args.proposal)
    return _describe(ceremony.view(args.proposal))


def execute(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    ceremony = Ceremony(net.w3, _governance(net))
    ceremony.execute(_owner(args, net), args.proposal)
    return _describe(ceremony.view(args.proposal))


def show(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    return _describe(Ceremony(net.w3, _governance(net)).view(args.proposal))


def roles(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    account = _address(args.account)
    targets = _targets(net)
    held = roles_held(net.w3, targets, account)
    powers = admin_powers(net.w3, _governance(net), targets, account)
    data = {"account": account, "roles": [h.__dict__ for h in held], "admin": powers}
    lines = [f"{h.contract} {h.address} {h.role}" for h in held] or ["no role"]
    lines.append("admin: " + (", ".join(powers) if powers else "none"))
    return data, "\n".join(lines)


def register(top: Any, command: Callable[[Any, str, Command, str], argparse.ArgumentParser]) -> None:
    """Add ``reponet governance`` (``command`` is the ops CLI's: data dir, --json, exit statuses)."""
    admin = top.add_parser("governance", help="on-chain admin ceremony: two owners and a delay (contracts/CEREMONY.md)")
    sub = admin.add_subparsers(dest="command", required=True)

    def signed(name: str, fn: Command, help_text: str) -> argparse.ArgumentParser:
        parser = command(sub, name, fn, help_text)
        parser.add_argument("--owner", type=int, help="sign as owner N (secrets/admin-owner-N.key)")
        parser.add_argument("--key-file", help="sign with the owner key in this file")
        return parser

    p = signed("propose", propose, "propose an admin call (phase 1: schedule it); the proposer approves it")
    p.add_argument("action", choices=list(ACTIONS))
    p.add_argument("params", nargs="*", help="; ".join(f"{k}: {v}" for k, v in ACTIONS.items()))
    signed("propose-execute", propose_execute, "phase 2: propose executing a scheduled call").add_argument(
        "proposal", type=int, help="the executed schedule proposal"
    )
    signed("cancel", propose_cancel, "propose cancelling a scheduled call").add_argument("proposal", type=int)
    signed("approve", approve, "approve a proposal as this owner").add_argument("proposal", type=int)
    signed("execute", execute, "run a proposal that has the threshold of approvals").add_argument("proposal", type=int)
    command(sub, "show", show, "a proposal, its approvals and when its call is ready").add_argument(
        "proposal", type=int
    )
    command(sub, "roles", roles, "the roles an account holds and whether it is an admin").add_argument("account")
