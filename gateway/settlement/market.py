"""The chain as settlement sees it: web3 over JSON-RPC, the engine, oracle and tokens, the relayer's account."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import RPCEndpoint

from contracts.errors import decode_revert
from gateway.chain.bindings.oracle import OracleAtBlock
from gateway.chain.calls import ViewFunction, error_reason, event_topic
from gateway.chain.connect import connect
from gateway.chain.head_memo import HeadMemo
from gateway.chain.heads import HeadWatcher
from gateway.chain.outage import is_outage
from gateway.config import KeyPurpose, Settings

logger = logging.getLogger(__name__)

RECEIPT_CACHE = 1024
HEAD_AGE = 0.5  # seconds a block number read by this process still serves the oracle's pinned reads
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
ERC1271_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "isValidSignature",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "magicValue", "type": "bytes4"}],
    }
]


class Market:
    """Read and write access to the deployed system for settlement, indexing and views."""

    def __init__(
        self,
        w3: Web3,
        *,
        engine: str,
        oracle: str,
        relayer: LocalAccount,
        settings: Settings | None = None,
        issuer: LocalAccount | None = None,
        feeder: LocalAccount | None = None,
        kyc_agent: LocalAccount | None = None,
        anchorer: LocalAccount | None = None,
        identity_registry: str | None = None,
        audit_anchor: str | None = None,
    ) -> None:
        """``relayer`` sends the engine's operator steps; ``issuer`` token issue and redeem, ``feeder`` prices (each
        the relayer's account when not given). The gateway's ``Settings`` carry the relayer's and indexer's knobs."""
        from contracts.artifacts import load_artifact

        self.w3 = w3
        self.settings = settings or Settings()
        self.relayer = relayer
        self.issuer = issuer or relayer
        self.feeder = feeder or relayer
        # The registry's and the anchor's writes go through the relayer too (gateway.settlement.registry), each
        # purpose from its own account: the KYC agent's, the anchoring account's.
        self.kyc_agent = kyc_agent
        self.anchorer = anchorer
        own = [a for a in (self.relayer, self.issuer, self.feeder, kyc_agent, anchorer) if a is not None]
        self._signers = {a.address.lower(): a for a in own}
        self.registry: Any = (
            w3.eth.contract(
                address=Web3.to_checksum_address(identity_registry), abi=load_artifact("IdentityRegistry").abi
            )
            if identity_registry and kyc_agent is not None
            else None
        )
        self.audit_anchor: Any = (
            w3.eth.contract(address=Web3.to_checksum_address(audit_anchor), abi=load_artifact("AuditAnchor").abi)
            if audit_anchor and anchorer is not None
            else None
        )
        self.engine: Any = w3.eth.contract(
            address=Web3.to_checksum_address(engine), abi=load_artifact("RepoEngine").abi
        )
        self.oracle: Any = w3.eth.contract(
            address=Web3.to_checksum_address(oracle), abi=load_artifact("PriceOracle").abi
        )
        self._token_abi = load_artifact("BondToken").abi
        self._lock = threading.Lock()
        self._tokens: dict[str, Any] = {}
        self._clock: tuple[int, float] | None = None  # (block timestamp, monotonic time it was read)
        self._head: tuple[int, float] | None = None  # (latest block number, monotonic time it was read)
        self._allowance_ok: set[tuple[str, str]] = set()  # (owner, token) known to allow the engine everything
        self._receipts: dict[str, Any] = {}  # tx hash -> mined receipt, oldest first
        self._views: dict[tuple[str, str], ViewFunction] = {}
        self._forgot_at = 0.0  # monotonic time of the last ``forget_clock``
        self.heads: HeadWatcher | None = None  # the node's pushed heads, where the process follows them
        self.head_memo = HeadMemo()  # the oracle's currencies and FX terms, once per block (``oracle_at_head``)

    @classmethod
    def from_settings(cls, settings: Settings) -> Market:
        """The market of a configured gateway (the RPC URL, engine, oracle and relayer key must be set)."""
        assert settings.chain_rpc_url and settings.repo_engine_address and settings.price_oracle_address
        relayer_key = settings.key_for(KeyPurpose.RELAYER)
        issuer_key = settings.key_for(KeyPurpose.ISSUER)
        feeder_key = settings.key_for(KeyPurpose.ORACLE_FEEDER)
        kyc_key = settings.key_for(KeyPurpose.KYC_AGENT)
        anchor_key = settings.key_for(KeyPurpose.ANCHOR)
        assert relayer_key and issuer_key and feeder_key
        return cls(
            connect(settings.chain_rpc_url, token=settings.chain_rpc_token),
            engine=settings.repo_engine_address,
            oracle=settings.price_oracle_address,
            relayer=Account.from_key(relayer_key),
            issuer=Account.from_key(issuer_key),
            feeder=Account.from_key(feeder_key),
            kyc_agent=Account.from_key(kyc_key) if kyc_key else None,
            anchorer=Account.from_key(anchor_key) if anchor_key else None,
            identity_registry=settings.identity_registry_address,
            audit_anchor=settings.audit_anchor_address,
            settings=settings,
        )

    def signer(self, sender: str) -> LocalAccount | None:
        """The gateway's own account that sends from ``sender`` (None: not one of ours)."""
        return self._signers.get(sender.lower())

    @cached_property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @cached_property
    def position(self) -> Any:
        """The engine's position NFT (ERC-721): its address is fixed when the engine is deployed."""
        from contracts.artifacts import load_artifact

        address = self.engine.functions.position().call()
        return self.w3.eth.contract(address=address, abi=load_artifact("RepoPosition").abi)

    @cached_property
    def shortfall_ledger(self) -> Any:
        """The engine's shortfall ledger (its own contract for code size): it emits the shortfall events."""
        from contracts.artifacts import load_artifact

        address = self.engine.functions.shortfallLedger().call()
        return self.w3.eth.contract(address=address, abi=load_artifact("RepoShortfallLedger").abi)

    @cached_property
    def _repo_opened_topic(self) -> bytes:
        abi = next(e for e in self.engine.abi if e.get("type") == "event" and e["name"] == "RepoOpened")
        return event_topic(abi)

    def opened_repo_id(self, receipt: Any) -> int:
        """The id of the repo an ``open`` transaction's receipt says it opened: the first indexed topic of the
        engine's ``RepoOpened`` log (read from the topics, not through web3's event decoder, which decodes every
        field of every log to find it)."""
        for log in receipt["logs"]:
            topics = log["topics"]
            if (
                str(log["address"]).lower() == self.engine_address.lower()
                and topics
                and bytes(topics[0]) == self._repo_opened_topic
            ):
                return int.from_bytes(bytes(topics[1]), "big")
        raise LookupError("the receipt holds no RepoOpened log of the engine")

    def view(self, contract: Any, name: str) -> ViewFunction:
        """``contract``'s function ``name`` (see gateway.chain.calls: call data, and a plain ``eth_call`` for views),
        built once."""
        key = (str(contract.address), name)
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = ViewFunction(self.w3, contract.address, contract.abi, name)
        return found

    def receipt(self, tx_hash: str) -> Any:
        """The receipt the relayer last fetched for ``tx_hash`` (the one its finality decision rests on), else the
        node's: settlement hooks read their events from it without asking the node again."""
        with self._lock:
            cached = self._receipts.get(tx_hash)
        return cached if cached is not None else self.fetch_receipt(tx_hash)

    def fetch_receipt(self, tx_hash: str) -> Any:
        """The node's receipt for ``tx_hash`` (None while unmined), kept in a bounded cache for ``receipt``."""
        try:
            found = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        if found is not None:
            with self._lock:
                if len(self._receipts) >= RECEIPT_CACHE:
                    self._receipts.pop(next(iter(self._receipts)))
                self._receipts[tx_hash] = found
        return found

    @property
    def engine_address(self) -> str:
        return str(self.engine.address)

    def token(self, address: str) -> Any:
        key = address.lower()
        with self._lock:
            if key not in self._tokens:
                self._tokens[key] = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=self._token_abi)
            return self._tokens[key]

    def now(self) -> int:
        """The chain's clock (the engine checks deadlines and maturities against block timestamps): the latest
        block's timestamp, re-read at most once a second and advanced by the time elapsed since."""
        import time

        pushed = self.heads.latest() if self.heads is not None else None
        if pushed is not None and pushed.seen_at > self._forgot_at:  # a head pushed after any jump of the clock
            return pushed.timestamp  # the latest block's, as get_block("latest") would say: the engine's clock
        with self._lock:
            clock = self._clock
        if clock is None or time.monotonic() - clock[1] > 1.0:
            clock = (int(self.w3.eth.get_block("latest")["timestamp"]), time.monotonic())
            with self._lock:
                self._clock = clock
        return clock[0] + int(time.monotonic() - clock[1])

    def block_number(self) -> int:
        """The chain's latest block number, asked now (the relayer and the indexer, on an open's path), and kept for
        ``recent_block_number``."""
        import time

        number = int(self.w3.eth.block_number)
        with self._lock:
            self._head = (number, time.monotonic())
        return number

    def head_number(self) -> int:
        """The chain's latest block number: as the node last pushed it (``gateway.chain.heads``), else asked now."""
        pushed = self.heads.latest() if self.heads is not None else None
        return pushed.number if pushed is not None else self.block_number()

    def recent_block_number(self, max_age: float) -> int:
        """The latest block number as this process last saw it, if at most ``max_age`` seconds ago, else asked now:
        the followers (balances, prices), which poll no faster than that, need not ask the node again what the
        relayer or the indexer has just asked."""
        import time

        pushed = self.heads.latest() if self.heads is not None else None
        if pushed is not None:
            return pushed.number
        with self._lock:
            head = self._head
        if head is not None and time.monotonic() - head[1] <= max_age:
            return head[0]
        return self.block_number()

    def oracle_at_head(self) -> OracleAtBlock:
        """The oracle's currencies and FX terms at a recent block (the pushed head, else a number read at most
        ``HEAD_AGE`` ago), each read once per block whoever asks: every member's ``GET /v1/risk/repos`` needs them,
        several times a second."""
        return OracleAtBlock(self.oracle, self.recent_block_number(HEAD_AGE), self.head_memo)

    def forget_clock(self) -> None:
        """The chain's clock jumped (a dev chain's time travel, e.g. Anvil's evm_increaseTime): read it afresh on
        the next call rather than extrapolate from a reading taken before the jump."""
        import time

        with self._lock:
            self._clock = None
            self._forgot_at = time.monotonic()
        self.head_memo.forget()  # a chain that jumped may have gone back and mined the same numbers again

    def allowance_unlimited(self, owner: str, token: str) -> bool:
        return (owner.lower(), token.lower()) in self._allowance_ok

    def remember_unlimited(self, owner: str, token: str) -> None:
        with self._lock:
            self._allowance_ok.add((owner.lower(), token.lower()))

    def has_code(self, address: str) -> bool:
        return len(bytes(self.w3.eth.get_code(Web3.to_checksum_address(address)))) > 0

    def erc1271_valid(self, wallet: str, digest: bytes, signature: bytes) -> bool:
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(wallet), abi=ERC1271_ABI)
        try:
            result = contract.functions.isValidSignature(digest, signature).call()
        except Exception as exc:  # a revert means "not valid"; no answer means nothing (503)
            if is_outage(exc):
                raise
            return False
        return bytes(result) == ERC1271_MAGIC

    def revert_reason(
        self, *, sender: str, to: str, data: str, overrides: dict[str, dict[str, Any]] | None = None
    ) -> str | None:
        """Why the transaction would fail if ``sender`` sent it now (the revert reason, decoded when the error is one
        of our contracts'), or None: an ``eth_call`` on the latest block with the configured gas limit, the check the
        relayer makes before it spends a nonce on a step; transport errors raise. ``overrides`` are geth's state
        overrides for this call only (the node and Anvil both take them)."""
        call = {"from": sender, "to": to, "data": data, "value": "0x0", "gas": hex(self.settings.gas_limit)}
        params: list[Any] = [call, "latest"] if not overrides else [call, "latest", overrides]
        response = self.w3.provider.make_request(RPCEndpoint("eth_call"), params)
        error = response.get("error")
        return None if error is None else error_reason(error)

    def call_output(self, *, to: str, data: str, overrides: dict[str, dict[str, Any]]) -> bytes | None:
        """What a view call returns on the latest block under ``overrides`` (geth's state overrides), or None when
        it reverts or the node refuses the overrides; transport errors raise."""
        call = {"to": to, "data": data, "gas": hex(self.settings.gas_limit)}
        response = self.w3.provider.make_request(RPCEndpoint("eth_call"), [call, "latest", overrides])
        result = response.get("result")
        return bytes.fromhex(result[2:]) if isinstance(result, str) and result.startswith("0x") else None

    def failure_reason(self, tx_hash: str) -> str:
        """Why a mined transaction reverted: its top call's revert decoded when it is one of our contracts' errors,
        from the node's trace of that transaction (geth's ``callTracer``: the state it really ran on, earlier
        transactions of its block included). A node without the trace, or a failing call, gives a plain word."""
        options = {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}
        try:
            response = self.w3.provider.make_request(RPCEndpoint("debug_traceTransaction"), [tx_hash, options])
        except Exception as exc:  # the reason is a courtesy: the revert itself is already known
            if is_outage(exc):
                raise  # ask again once the node answers: the failure should say the node's words
            logger.warning("no trace of reverted %s: %s", tx_hash, exc)
            return "reverted (no trace from the node)"
        frame = response.get("result")
        if not isinstance(frame, dict):
            return f"reverted (no trace from the node: {error_reason(response.get('error'))})"
        output = frame.get("output")
        decoded = decode_revert(output) if isinstance(output, str) and len(output) > 2 else None
        return decoded or str(frame.get("revertReason") or frame.get("error") or "reverted")

    def encode(self, contract: Any, fn_name: str, *args: Any) -> str:
        """The transaction data calling ``fn_name(*args)`` on ``contract``."""
        return "0x" + self.view(contract, fn_name).calldata(*args).hex()
