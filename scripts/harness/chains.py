"""What the node tests and scripts/bench_node.py need to run a real EVM node process and talk to it.

No mocks: each backend is a subprocess (Anvil or `reponet-node dev`) on a free loopback port, reached with plain
JSON-RPC over HTTP (`Rpc`) or with unmodified clients. `Backend.profile` states, explicitly, where a backend
legitimately differs from the others, so tests assert each backend's own expectation instead of skipping.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
READY_TIMEOUT = 60.0

Account.enable_unaudited_hdwallet_features()


class RpcError(Exception):
    """A JSON-RPC error object returned by the node."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}" + (f" ({data})" if data is not None else ""))
        self.code = code
        self.message = message
        self.data = data


class Rpc:
    """A bare JSON-RPC 2.0 client over HTTP: no client library between the test and the wire."""

    def __init__(self, url: str, timeout: float = 30.0, token: str | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self._session = requests.Session()
        if token is not None:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._id = 0

    def post(self, body: str | bytes, content_type: str = "application/json") -> requests.Response:
        return self._session.post(self.url, data=body, headers={"Content-Type": content_type}, timeout=self.timeout)

    def raw(self, payload: Any) -> Any:
        """Sends any JSON value as the request body and returns the decoded response (or None if empty)."""
        response = self.post(json.dumps(payload))
        return response.json() if response.content.strip() else None

    def envelope(self, method: str, *params: Any) -> dict[str, Any]:
        self._id += 1
        return {"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}

    def request(self, method: str, *params: Any) -> dict[str, Any]:
        """The whole response object of one call."""
        response: dict[str, Any] = self.raw(self.envelope(method, *params))
        return response

    def call(self, method: str, *params: Any) -> Any:
        """The result of one call; an error object raises RpcError."""
        response = self.request(method, *params)
        if "error" in response:
            error = response["error"]
            raise RpcError(error["code"], error["message"], error.get("data"))
        return response["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        """The error object of a call that must fail."""
        response = self.request(method, *params)
        assert "error" in response, f"{method}{params} should fail, got {response}"
        assert "result" not in response
        error: dict[str, Any] = response["error"]
        return error

    def close(self) -> None:
        self._session.close()


@dataclass(frozen=True)
class Profile:
    """Where a backend legitimately differs. Every field is asserted by some test for each backend."""

    name: str
    # Base fee is zero: members need no native coin (our node); Anvil runs EIP-1559 with a real base fee.
    zero_base_fee: bool
    # Only allowlisted senders may transact; others get -32007 "sender account not authorized".
    permissioned: bool
    # Anvil mines one block per transaction at once; our node seals a block every --block-time when txs pend.
    instant_blocks: bool
    # JSON-RPC code answered to a body that is not JSON: the spec says -32700; Anvil answers -32600.
    parse_error_code: int = -32700
    # geth's wording "the method X does not exist/is not available" (ours, as the issue asks); Anvil says
    # "Method not found".
    geth_method_not_found_wording: bool = True
    # Code for an unknown block hash in an EIP-1898 object (geth -32000, Anvil -32001 "Resource not found").
    unknown_block_codes: tuple[int, ...] = (-32000, -32001, -32602)
    # Blocks carry QBFT (Besu-format) extra data longer than 32 bytes: web3.py then needs its own
    # ExtraDataToPOAMiddleware, exactly as for Besu QBFT or any proof-of-authority chain.
    qbft_extra_data: bool = False
    # Transaction-pool refusals worded as geth words them (our node); Anvil has its own wording, and accepts
    # unprotected legacy transactions and data above geth's 128 KiB.
    geth_pool_errors: bool = True
    # Most requests in one JSON-RPC batch (None: no limit); our node refuses bigger batches with an error.
    batch_limit: int | None = None
    # Methods the backend does not implement at all (answered with -32601): Anvil has no net_peerCount.
    missing_methods: frozenset[str] = frozenset()


ANVIL_PROFILE = Profile(
    name="anvil",
    zero_base_fee=False,
    permissioned=False,
    instant_blocks=True,
    parse_error_code=-32600,
    geth_method_not_found_wording=False,
    missing_methods=frozenset({"net_peerCount"}),
    geth_pool_errors=False,
)
NODE_PROFILE = Profile(
    name="node",
    zero_base_fee=True,
    permissioned=True,
    instant_blocks=False,
    qbft_extra_data=True,
    batch_limit=1000,
)


@dataclass
class Backend:
    """A running node process and what a test needs to use it."""

    name: str
    http_url: str
    ws_url: str
    chain_id: int
    accounts: list[LocalAccount]
    profile: Profile
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    # Accounts the node was told to allow (our node) or that exist (Anvil) but start without native coin.
    extra_accounts: list[LocalAccount] = field(default_factory=list)
    banner: str = ""

    def rpc(self) -> Rpc:
        return Rpc(self.http_url)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process(self.process)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Stops a process we started (and its process group): SIGTERM, then SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(grace)


def wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = READY_TIMEOUT) -> int:
    """Polls eth_chainId until the node answers; returns the chain id. Fails early if the process dies."""
    deadline = time.monotonic() + timeout
    rpc = Rpc(url, timeout=2.0)
    last: Exception | None = None
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{process.args!r} exited with {process.returncode} before answering:\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            try:
                return int(rpc.call("eth_chainId"), 16)
            except (requests.RequestException, RpcError, ValueError) as exc:
                last = exc
                time.sleep(0.1)
    finally:
        rpc.close()
    stop_process(process)
    raise TimeoutError(
        f"{process.args!r} did not answer eth_chainId on {url} within {timeout}s ({last}):\n"
        + log_path.read_text(errors="replace")[-4000:]
    )


def _spawn(args: list[str], workdir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    try:
        return subprocess.Popen(
            args,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown kills children too
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        log.close()


def foundry_binary(tool: str) -> str:
    """The native Foundry binary (anvil, cast) from npm's platform package, else the .bin wrapper or PATH.

    The native binary first: npm's `node_modules/.bin/cast` wrapper exits 0 even when cast fails.
    """
    for candidate in sorted((ROOT / "node_modules" / "@foundry-rs").glob(f"{tool}-*/bin/{tool}")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(tool, path=str(BIN)) or shutil.which(tool)
    if found is None:
        raise RuntimeError(f"{tool} not found: run scripts/setup (it installs Foundry into node_modules)")
    return found


def anvil_accounts(count: int) -> list[LocalAccount]:
    return [Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}") for index in range(count)]


def start_anvil(workdir: Path, *, accounts: int = 10, extra_args: tuple[str, ...] = ()) -> Backend:
    anvil = foundry_binary("anvil")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / "anvil.log"
    args = [anvil, "--host", "127.0.0.1", "--port", str(port), "--accounts", str(accounts), *extra_args]
    process = _spawn(args, workdir, log_path)
    url = f"http://127.0.0.1:{port}"
    chain_id = wait_ready(url, process, log_path)
    funded = anvil_accounts(accounts)
    return Backend(
        name="anvil",
        http_url=url,
        ws_url=f"ws://127.0.0.1:{port}",
        chain_id=chain_id,
        accounts=funded,
        profile=ANVIL_PROFILE,
        process=process,
        workdir=workdir,
        log_path=log_path,
        extra_accounts=[Account.from_key(_test_key(i)) for i in range(3)],
    )


def _test_key(index: int) -> bytes:
    """Deterministic keys for accounts that no backend knows in advance."""
    return bytes.fromhex(f"{0xA11CE + index:064x}")


STRANGER = Account.from_key(bytes.fromhex(f"{0x5757A4:064x}"))
"""An account no backend was told about: our node must refuse it."""

_KEY_RE = re.compile(r"(?<![0-9a-fA-Fx])(0x[0-9a-fA-F]{64})(?![0-9a-fA-F])")


def node_command() -> list[str]:
    """The `reponet-node` console script of this checkout's venv, else the module entry point."""
    script = ROOT / ".venv" / "bin" / "reponet-node"
    if script.exists():
        return [str(script)]
    found = shutil.which("reponet-node")
    if found:
        return [found]
    return [str(ROOT / ".venv" / "bin" / "python"), "-m", "node"]


def parse_dev_banner(text: str) -> list[LocalAccount]:
    """Dev accounts printed by `reponet-node dev`: every 32-byte hex key in the banner, in order."""
    accounts: list[LocalAccount] = []
    seen: set[str] = set()
    for match in _KEY_RE.finditer(text):
        key = match.group(1).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            accounts.append(Account.from_key(key))
        except (ValueError, TypeError):
            continue
    return accounts


def start_node(workdir: Path, *, extra_args: tuple[str, ...] = (), allow: tuple[str, ...] | None = None) -> Backend:
    """Starts `reponet-node dev` in workdir, allowing the test's extra accounts, and waits until it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / "node.log"
    extra = [Account.from_key(_test_key(i)) for i in range(3)]
    allowed = allow if allow is not None else tuple(acct.address for acct in extra)
    args = [*node_command(), "dev", "--data-dir", str(workdir / "data"), "--rpc-port", str(port)]
    if allowed:
        args += ["--allow", *allowed]  # the documented form: one --allow, several addresses
    args += list(extra_args)
    process = _spawn(args, workdir, log_path)
    url = f"http://127.0.0.1:{port}"
    chain_id = wait_ready(url, process, log_path)
    # The banner is printed before the server answers; give a slow flush a moment anyway.
    deadline = time.monotonic() + 5
    banner = log_path.read_text(errors="replace")
    accounts = parse_dev_banner(banner)
    while not accounts and time.monotonic() < deadline:
        time.sleep(0.1)
        banner = log_path.read_text(errors="replace")
        accounts = parse_dev_banner(banner)
    if not accounts:
        stop_process(process)
        raise RuntimeError(f"reponet-node dev printed no dev account keys:\n{banner[-4000:]}")
    # The validator's own key is not a dev account; keep only accounts the node reports holding native coin
    # first (the funded dev accounts), then the rest.
    rpc = Rpc(url)
    try:
        balances = {acct.address: int(rpc.call("eth_getBalance", acct.address, "latest"), 16) for acct in accounts}
    finally:
        rpc.close()
    accounts.sort(key=lambda acct: balances[acct.address] == 0)
    return Backend(
        name="node",
        http_url=url,
        ws_url=f"ws://127.0.0.1:{port}",
        chain_id=chain_id,
        accounts=accounts,
        profile=NODE_PROFILE,
        process=process,
        workdir=workdir,
        log_path=log_path,
        extra_accounts=extra,
        banner=banner,
    )


def load_contracts() -> dict[str, dict[str, Any]]:
    """ABI and bytecode of scripts/harness/fixtures/TestContracts.sol (built by scripts/harness/fixtures/build.py)."""
    data = json.loads((FIXTURES / "contracts.json").read_text())
    contracts: dict[str, dict[str, Any]] = data["contracts"]
    return contracts


class Chain:
    """Signs and sends transactions over raw JSON-RPC, tracking nonces per sender; waits for receipts."""

    def __init__(self, backend: Backend, rpc: Rpc | None = None) -> None:
        self.backend = backend
        self.rpc = rpc or backend.rpc()
        self._nonces: dict[str, int] = {}

    def fees(self) -> dict[str, int]:
        latest = self.rpc.call("eth_getBlockByNumber", "latest", False)
        base = int(latest.get("baseFeePerGas", "0x0"), 16)
        tip = int(self.rpc.call("eth_maxPriorityFeePerGas"), 16)
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def next_nonce(self, account: LocalAccount) -> int:
        if account.address not in self._nonces:
            self._nonces[account.address] = int(
                self.rpc.call("eth_getTransactionCount", account.address, "pending"), 16
            )
        nonce = self._nonces[account.address]
        self._nonces[account.address] = nonce + 1
        return nonce

    def forget_nonce(self, account: LocalAccount) -> None:
        self._nonces.pop(account.address, None)

    def sign(
        self,
        account: LocalAccount,
        *,
        to: str | None = None,
        data: str = "0x",
        value: int = 0,
        gas: int = 3_000_000,
        nonce: int | None = None,
        fees: dict[str, int] | None = None,
    ) -> bytes:
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.backend.chain_id,
            "nonce": self.next_nonce(account) if nonce is None else nonce,
            "gas": gas,
            "value": value,
            "data": data,
            **(fees if fees is not None else self.fees()),
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        signed = account.sign_transaction(tx)
        raw: bytes = signed.raw_transaction
        return raw

    def send(self, account: LocalAccount, **kwargs: Any) -> str:
        raw = self.sign(account, **kwargs)
        tx_hash: str = self.rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
        return tx_hash

    def wait(self, tx_hash: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            receipt: dict[str, Any] | None = self.rpc.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() > deadline:
                raise TimeoutError(f"no receipt for {tx_hash} within {timeout}s")
            time.sleep(0.02)

    def transact(self, account: LocalAccount, **kwargs: Any) -> dict[str, Any]:
        return self.wait(self.send(account, **kwargs))

    def deploy(self, account: LocalAccount, bytecode: str, ctor_args: str = "") -> dict[str, Any]:
        receipt = self.transact(account, data=bytecode + ctor_args, gas=5_000_000)
        assert receipt["status"] == "0x1", receipt
        return receipt
