"""The contract steps of ``reponet up``: deploy the system and its tokens, give each purpose key its one role, hand
every admin role to the ``AdminManager`` behind the multisig and the delay, and point the node's permissioning at
``AccountRules``."""

from __future__ import annotations

import time

from web3 import Web3

from contracts.governance import (
    Governance,
    RoleGrant,
    admit_holders,
    allow_senders,
    deploy_governance,
    grant_roles,
    hand_over,
    least_privilege_grants,
)
from gateway.datadir import TokenInfo
from gateway.ops.chain import connect, ensure_gas, price_to_raw, send
from gateway.ops.targets import SYSTEM_ARTIFACTS, token_targets
from gateway.orchestrator.accounts import ADMIN_THRESHOLD, Purpose
from gateway.orchestrator.context import UpContext, rpc
from gateway.orchestrator.currencies import CASH_TOKENS, wire_currencies
from gateway.orchestrator.exceptions import UpError
from gateway.orchestrator.nodes import NodeSteps

BONDS = (
    ("RepoNet Govt 4.25% 2032", TokenInfo(symbol="GOV32", address="", decimals=6, isin="XS0000000132"), 425, 2032),
    ("RepoNet Corp 2.50% 2030", TokenInfo(symbol="CORP30", address="", decimals=6, isin="XS0000000230"), 250, 2030),
)
# Roles the gateway needs beyond each purpose's own: its operators' pause routes send from the relayer's account, so
# the relayer also holds the pause roles (a pause moves no asset). None is an admin role.
TRANSITIONAL_ROLES: tuple[tuple[Purpose, str, str], ...] = (
    (Purpose.RELAYER, "repo_engine", "PAUSER_ROLE"),
    (Purpose.RELAYER, "tokens", "PAUSER_ROLE"),
)


class Deployment:
    def __init__(self, ctx: UpContext, nodes: NodeSteps) -> None:
        self.ctx = ctx
        self.nodes = nodes

    def targets(self) -> list[tuple[str, str]]:
        """Every AccessControl contract of the deployment as ``(artifact name, address)``."""
        s = self.ctx.state
        return [
            *((name, s.contracts[key]) for key, name in SYSTEM_ARTIFACTS.items()),
            *token_targets(s.cash_tokens, s.bonds),
        ]

    def grants(self) -> list[RoleGrant]:
        """The plan: each purpose's role (contracts.governance), plus today's transitional ones."""
        s, accounts = self.ctx.state, self.ctx.accounts
        tokens = token_targets(s.cash_tokens, s.bonds)
        plan = least_privilege_grants(s.contracts, tokens, accounts.holders)
        for purpose, where, role in TRANSITIONAL_ROLES:
            holder = accounts[purpose].address
            if where == "tokens":
                plan += [RoleGrant(name, address, role, holder) for name, address in tokens]
            else:
                plan.append(RoleGrant(SYSTEM_ARTIFACTS[where], s.contracts[where], role, holder))
        return plan

    def deploy(self) -> None:
        from contracts.deploy import deploy_system

        ctx, s, accounts = self.ctx, self.ctx.state, self.ctx.accounts
        operator = accounts.operator
        w3 = connect(s.rpc_url, timeout=120, token=ctx.dir.operator_rpc_token(s) or ctx.config.rpc_token)
        if s.managed_node and not s.done("permissioning"):
            for address in self.nodes.deploy_senders():
                self.nodes.admin_all("reponet_addToAllowlist", [address])
        if not s.managed_node:
            if not ctx.config.operator_key and w3.eth.get_balance(operator.address) == 0 and _charges(w3):
                raise UpError("this chain charges gas: pass --operator-key with a funded key (e.g. Anvil's first)")
            for address in accounts.senders[1:]:
                ensure_gas(w3, operator, address)
        if not s.done("system"):
            addresses = deploy_system(w3, operator)
            s.contracts = addresses.as_dict()
            self.save("system")
        if not s.done("assets"):
            self._deploy_assets(w3)
            self.save("assets")
        if not s.done("governance"):
            self._govern(w3)
            self.save("governance")
        s.relayer_address = accounts[Purpose.RELAYER].address
        names = ", ".join(f"{k}={v}" for k, v in s.contracts.items() if k in ("repo_engine", "identity_registry"))
        tokens = ", ".join(t.symbol for t in [*s.cash_tokens, *s.bonds])
        ctx.step("system contracts", f"{names}; tokens {tokens}")
        ctx.step(
            "least privilege",
            f"a key per role, no admin among them; admin: {ADMIN_THRESHOLD}-of-{len(accounts.owners)} multisig "
            f"{s.contracts['admin_multisig']} through AdminManager {s.contracts['admin_manager']}, "
            f"delay {s.admin_delay} s",
        )

    def save(self, done: str) -> None:
        self.ctx.save(done)

    def _deploy_assets(self, w3: Web3) -> None:
        """The cash token and the bonds (deployed by the operator, who hands their admin over with the rest), and a
        first price per bond from the feeder, once the feeder may post."""
        from contracts.deploy import contract, deploy_bond_token, deploy_cash_token, list_tokens

        ctx, s, accounts = self.ctx, self.ctx.state, self.ctx.accounts
        operator, issuer, feeder = accounts.operator, accounts[Purpose.ISSUER], accounts[Purpose.ORACLE_FEEDER]
        registry = s.contracts["identity_registry"]
        for cash_name, template in CASH_TOKENS:  # rUSD first: the default cash of trades and the demo
            if any(c.symbol == template.symbol for c in s.cash_tokens):
                continue
            cash = TokenInfo(**{**template.__dict__})
            cash.address = deploy_cash_token(
                w3,
                operator,
                registry=registry,
                name=cash_name,
                symbol=cash.symbol,
                currency=cash.currency,
                decimals=cash.decimals,
            )
            s.cash_tokens.append(cash)
            ctx.save()
        for name, template, coupon_bps, year in BONDS:
            if any(b.symbol == template.symbol for b in s.bonds):
                continue
            bond = TokenInfo(**{**template.__dict__})
            maturity = int(time.mktime((year, 12, 7, 0, 0, 0, 0, 0, 0)))
            bond.address = deploy_bond_token(
                w3,
                operator,
                registry=registry,
                name=name,
                symbol=bond.symbol,
                isin=bond.isin,
                decimals=bond.decimals,
                coupon_rate=coupon_bps * 10**14,
                maturity=maturity,
                issuer=issuer.address,
            )
            s.bonds.append(bond)
            ctx.save()
        oracle = contract(w3, "PriceOracle", s.contracts["price_oracle"])
        feeder_role = oracle.functions.FEEDER_ROLE().call()
        if not oracle.functions.hasRole(feeder_role, feeder.address).call():
            send(w3, operator, oracle.functions.grantRole(feeder_role, feeder.address), "oracle: feeder")
        wire_currencies(w3, operator, feeder, oracle, s.cash_tokens, s.bonds)
        # only listed tokens may be named by a repo (the engine's token table, 16-bit indices)
        list_tokens(
            w3, operator, engine=s.contracts["repo_engine"], tokens=[t.address for t in [*s.cash_tokens, *s.bonds]]
        )
        cash = s.cash_tokens[0]
        for bond in s.bonds:
            raw = price_to_raw("100", bond.decimals, cash.decimals)
            send(w3, feeder, oracle.functions.setPrice(bond.address, cash.address, raw), "initial price")

    def _govern(self, w3: Web3) -> None:
        """Senders allowed, the paying agent admitted to hold cash, roles granted, then the multisig and manager
        take the admin roles and the operator renounces all of its own: the last step the operator key can take as
        an admin."""
        ctx, s, accounts = self.ctx, self.ctx.state, self.ctx.accounts
        operator = accounts.operator
        allow_senders(w3, operator, s.contracts["account_rules"], accounts.senders)
        # The issuer is the bonds' paying agent: it holds coupon cash before paying it through the engine.
        admit_holders(w3, operator, s.contracts["identity_registry"], [accounts[Purpose.ISSUER].address])
        grant_roles(w3, operator, self.grants())
        if "admin_manager" not in s.contracts:
            s.admin_delay = ctx.config.admin_delay
            governance = deploy_governance(
                w3, operator, owners=accounts.owner_addresses, threshold=ADMIN_THRESHOLD, admin_delay=s.admin_delay
            )
            s.contracts.update(governance.as_dict())
            ctx.save()
        governance = Governance(
            admin_multisig=Web3.to_checksum_address(s.contracts["admin_multisig"]),
            admin_manager=Web3.to_checksum_address(s.contracts["admin_manager"]),
        )
        hand_over(w3, operator, governance, self.targets())

    def permission(self) -> None:
        ctx, s = self.ctx, self.ctx.state
        if not s.managed_node:
            ctx.step(
                "node permissioning",
                "external chain: point its account permissioning at "
                f"AccountRules {s.contracts['account_rules']} yourself (Besu: "
                "--permissions-accounts-contract-enabled --permissions-accounts-contract-address)",
            )
            return
        rules = s.contracts["account_rules"]
        for url, token_file in self.nodes.admin_endpoints():
            current = rpc(url, "reponet_permissioning", None, token_file.read_text().strip())
            if str(current.get("accountRules") or "").lower() != rules.lower():
                rpc(url, "reponet_setAccountRules", [rules], token_file.read_text().strip())
        ctx.save("permissioning")
        nodes = len(self.nodes.admin_endpoints())
        ctx.step("node permissioning", f"{'every node asks' if nodes > 1 else 'asks'} AccountRules {rules}")


def _charges(w3: Web3) -> bool:
    return int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) > 0
