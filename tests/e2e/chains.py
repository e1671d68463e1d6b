"""Chains for end-to-end tests: Anvil or ``reponet-node dev`` as a subprocess on a free port, with RepoNet's
system deployed, a relayer account holding the operator roles, and the gas price at zero (members hold no coin)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
# Anvil's first well-known development key (public, test-only).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
RELAYER_KEY = "0x" + "5e" * 32
CASH_DECIMALS = 6
BOND_DECIMALS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ChainProcess:
    kind: str  # "anvil" | "reponet-node"
    url: str
    data_dir: Path | None
    proc: subprocess.Popen[bytes]

    def admin(self, method: str, params: list[Any]) -> Any:
        """An operator-only JSON-RPC call on our node (loopback + admin token)."""
        assert self.data_dir is not None
        token = (self.data_dir / "admin.token").read_text().strip()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            reply = json.loads(answer.read())
        assert "error" not in reply, reply
        return reply["result"]


def start_chain(kind: str, tmp_path: Path) -> Iterator[ChainProcess]:
    port = free_port()
    data_dir = None
    if kind == "anvil":
        binary = str(ANVIL) if ANVIL.exists() else shutil.which("anvil")
        if binary is None:
            pytest.skip("anvil is not installed (scripts/setup installs Foundry from npm)")
        command = [
            binary,
            "--port",
            str(port),
            "--silent",
            "--base-fee",
            "0",
            "--gas-price",
            "0",
            "--disable-min-priority-fee",
        ]
    else:
        binary = shutil.which("reponet-node") or str(ROOT / ".venv" / "bin" / "reponet-node")
        if not Path(binary).exists():
            pytest.skip("reponet-node is not installed")
        data_dir = tmp_path / "node"
        command = [
            binary,
            "dev",
            "--data-dir",
            str(data_dir),
            "--rpc-port",
            str(port),
            "--allow",
            Account.from_key(DEV_KEY).address,
            "--allow",
            Account.from_key(RELAYER_KEY).address,
        ]
    log = (tmp_path / f"{kind}.log").open("wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url))
    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail(f"{kind} exited with {proc.returncode}")
        try:
            if w3.is_connected():
                break
        except Exception:
            pass
        time.sleep(0.1)
    else:
        pytest.fail(f"{kind} did not start")
    try:
        yield ChainProcess(kind, url, data_dir, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@dataclass
class Deployment:
    chain: ChainProcess
    w3: Web3
    deployer: LocalAccount
    relayer: LocalAccount
    addresses: dict[str, str]
    cash: Any
    bond: Any
    bond2: Any
    engine: Any
    oracle: Any
    registry: Any
    after_advance: list[Callable[[], None]] = field(default_factory=list)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        """Let ``seconds`` pass on chain: Anvil moves its clock; our node's clock is the wall clock."""
        if self.chain.kind == "anvil":
            self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            for hook in self.after_advance:  # clocks cached by the gateway must not extrapolate across the jump
                hook()
        else:  # our node seals blocks only for transactions: wait, then seal one with a no-op transfer
            target = self.now() + seconds
            time.sleep(max(0.0, target - time.time() + 0.2))
            from contracts.deploy import _send

            _send(self.w3, self.deployer, {"to": self.deployer.address, "value": 0}, "tick")
            assert self.now() >= target

    def send(self, account: LocalAccount, fn: Any) -> Any:
        from contracts.deploy import transact

        return transact(self.w3, account, fn)


def deploy(chain: ChainProcess) -> Deployment:
    from contracts.deploy import (
        contract,
        deploy_bond_token,
        deploy_cash_token,
        deploy_system,
        list_tokens,
        set_currency,
        transact,
    )

    w3 = Web3(Web3.HTTPProvider(chain.url, request_kwargs={"timeout": 30}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    deployer, relayer = Account.from_key(DEV_KEY), Account.from_key(RELAYER_KEY)
    addrs = deploy_system(w3, deployer, system_accounts=[relayer.address])
    now = int(w3.eth.get_block("latest")["timestamp"])
    cash = deploy_cash_token(
        w3,
        deployer,
        registry=addrs.identity_registry,
        name="EUR Deposit Token",
        symbol="EURD",
        currency="EUR",
        decimals=CASH_DECIMALS,
    )
    set_currency(w3, deployer, oracle=addrs.price_oracle, token=cash)
    bond = deploy_bond_token(
        w3,
        deployer,
        registry=addrs.identity_registry,
        name="Bund 2.5% 2035",
        symbol="DBR35",
        isin="DE0001102580",
        decimals=BOND_DECIMALS,
        coupon_rate=25 * 10**15,
        maturity=now + 10 * 365 * 86_400,
    )
    set_currency(w3, deployer, oracle=addrs.price_oracle, token=bond, currency=cash)  # the Bund is priced in EUR
    bond2 = deploy_bond_token(
        w3,
        deployer,
        registry=addrs.identity_registry,
        name="OAT 3% 2034",
        symbol="FR34",
        isin="FR0011883966",
        decimals=BOND_DECIMALS,
        coupon_rate=3 * 10**16,
        maturity=now + 9 * 365 * 86_400,
    )
    list_tokens(w3, deployer, engine=addrs.repo_engine, tokens=[cash, bond, bond2])
    d = Deployment(
        chain=chain,
        w3=w3,
        deployer=deployer,
        relayer=relayer,
        addresses={**addrs.as_dict(), "cash": cash, "bond": bond, "bond2": bond2},
        cash=contract(w3, "CashToken", cash),
        bond=contract(w3, "BondToken", bond),
        bond2=contract(w3, "BondToken", bond2),
        engine=contract(w3, "RepoEngine", addrs.repo_engine),
        oracle=contract(w3, "PriceOracle", addrs.price_oracle),
        registry=contract(w3, "IdentityRegistry", addrs.identity_registry),
    )
    for token in (d.cash, d.bond, d.bond2):
        transact(w3, deployer, token.functions.grantRole(Web3.keccak(text="ISSUER_ROLE"), relayer.address))
    transact(w3, deployer, d.oracle.functions.grantRole(Web3.keccak(text="FEEDER_ROLE"), relayer.address))
    transact(w3, deployer, d.engine.functions.grantRole(Web3.keccak(text="PAUSER_ROLE"), relayer.address))
    if chain.kind == "reponet-node":  # from now on the node asks AccountRules (verified wallets, system accounts)
        chain.admin("reponet_setAccountRules", [addrs.account_rules])
    return d
