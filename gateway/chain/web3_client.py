"""``ChainClient`` over Ethereum JSON-RPC with web3.py, ABIs from the committed ``contracts`` artifacts."""

from __future__ import annotations

import logging
import threading
from typing import Any, cast

from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import Web3Exception

from gateway.chain.base import ChainClient
from gateway.chain.bindings.anchor import AnchorRecord, anchor_components
from gateway.chain.calls import ViewFunction
from gateway.chain.connect import connect
from gateway.chain.outage import is_outage, node_words
from gateway.chain.reverts import refusal
from gateway.exceptions import ChainError, ChainUnavailable

logger = logging.getLogger(__name__)
ERC1271_MAGIC = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes): the selector, returned when valid


def _is_valid_signature_call(digest: bytes, signature: bytes) -> bytes:
    return ERC1271_MAGIC + encode(["bytes32", "bytes"], [digest, signature])


def _failure(what: str, exc: Exception) -> ChainError:
    """No answer from the node is ``ChainUnavailable`` (503, try again); a contract's custom error is
    ``ContractRefused`` (409, named); any other answer refusing is ``ChainError``."""
    if is_outage(exc):
        return ChainUnavailable(f"{what}: the node did not answer: {exc}")
    return refusal(what, exc) or ChainError(f"{what}: {node_words(exc)}")


class Web3Chain(ChainClient):
    """Sends the registry's transactions from the KYC agent's account and the anchors from the anchoring account
    (``anchor_account``, the KYC agent's when not given), each with a nonce sequence of its own, and waits for their
    receipts. Callers hold no database transaction meanwhile (gateway.chain.guard)."""

    def __init__(
        self,
        w3: Web3,
        *,
        account: LocalAccount,
        identity_registry: str,
        audit_anchor: str,
        receipt_timeout: float = 30.0,
        anchor_account: LocalAccount | None = None,
    ) -> None:
        from contracts.artifacts import load_artifact

        self.w3 = w3
        self.account = account
        self.anchor_account = anchor_account or account
        self.registry: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(identity_registry), abi=load_artifact("IdentityRegistry").abi
        )
        self.anchor_contract: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(audit_anchor), abi=load_artifact("AuditAnchor").abi
        )
        self._is_verified = ViewFunction(w3, self.registry.address, self.registry.abi, "isVerified")
        self.receipt_timeout = receipt_timeout
        self._send_locks = {  # one account, one nonce sequence: send one transaction at a time from each
            account.address: threading.Lock(),
            self.anchor_account.address: threading.Lock(),
        }

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        private_key: str,
        identity_registry: str,
        audit_anchor: str,
        rpc_token: str | None = None,
        anchor_key: str | None = None,
    ) -> Web3Chain:
        return cls(
            connect(url, token=rpc_token),
            account=Account.from_key(private_key),
            identity_registry=identity_registry,
            audit_anchor=audit_anchor,
            anchor_account=Account.from_key(anchor_key) if anchor_key else None,
        )

    def _send(self, fn: Any, account: LocalAccount | None = None) -> Any:
        sender = account or self.account
        with self._send_locks[sender.address]:
            return self._send_locked(fn, sender)

    def _send_locked(self, fn: Any, sender: LocalAccount) -> Any:
        try:
            tx = fn.build_transaction(
                {
                    "from": sender.address,
                    "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
                    "chainId": self.w3.eth.chain_id,
                }
            )
            signed = sender.sign_transaction(tx)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout)
        except (Web3Exception, ValueError, OSError) as exc:
            raise _failure("transaction failed", exc) from None
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} reverted")
        logger.info("chain transaction %s mined in block %s", tx_hash.hex(), receipt["blockNumber"])
        return receipt

    def _call(self, fn: Any) -> Any:
        try:
            return fn.call()
        except (Web3Exception, ValueError, OSError) as exc:
            raise _failure("call failed", exc) from None

    def register_identity(
        self, *, lei_hash: bytes, jurisdiction: str, investor_class: int, kyc_expiry: int, wallets: list[str]
    ) -> int:
        fn = self.registry.functions.registerIdentity(
            lei_hash,
            jurisdiction.encode("ascii"),
            investor_class,
            kyc_expiry,
            [Web3.to_checksum_address(w) for w in wallets],
        )
        receipt = self._send(fn)
        for log in receipt["logs"]:
            if log["address"].lower() != self.registry.address.lower():
                continue
            for event in self.registry.all_events():
                try:
                    decoded = event.process_log(log)
                except Exception:  # noqa: S112 - not this event
                    continue
                if "identityId" in decoded["args"]:
                    return int(decoded["args"]["identityId"])
        # Fall back to reading the registry.
        if wallets:
            return int(self._call(self.registry.functions.identityOf(Web3.to_checksum_address(wallets[0]))))
        raise ChainError("registerIdentity emitted no identity id")

    def update_identity(self, *, identity_id: int, jurisdiction: str, investor_class: int, kyc_expiry: int) -> None:
        self._send(
            self.registry.functions.updateIdentity(
                identity_id, jurisdiction.encode("ascii"), investor_class, kyc_expiry
            )
        )

    def add_wallet(self, *, identity_id: int, wallet: str) -> None:
        self._send(self.registry.functions.addWallet(identity_id, Web3.to_checksum_address(wallet)))

    def revoke_identity(self, *, identity_id: int) -> None:
        self._send(self.registry.functions.revokeIdentity(identity_id))

    def freeze_identity(self, *, identity_id: int) -> None:
        self._send(self.registry.functions.freezeIdentity(identity_id))

    def unfreeze_identity(self, *, identity_id: int) -> None:
        self._send(self.registry.functions.unfreezeIdentity(identity_id))

    def is_verified(self, wallet: str) -> bool:
        try:
            return bool(self._is_verified(Web3.to_checksum_address(wallet)))
        except (Web3Exception, ValueError, OSError) as exc:
            raise _failure("call failed", exc) from None

    def erc1271_valid(self, wallet: str, digest: bytes, signature: bytes) -> bool:
        address = Web3.to_checksum_address(wallet)
        try:
            if not bytes(self.w3.eth.get_code(address)):
                return False
            answer = self.w3.eth.call({"to": address, "data": _is_valid_signature_call(digest, signature)})
        except (Web3Exception, ValueError):  # a revert (no such function, a refusal) means "not valid"
            return False
        except OSError as exc:
            raise _failure("call failed", exc) from None
        return bytes(answer)[:4] == ERC1271_MAGIC

    def anchor(self, *, sequence: int, head_hash: bytes) -> str:
        receipt = self._send(self.anchor_contract.functions.anchor(sequence, head_hash), self.anchor_account)
        return "0x" + bytes(receipt["transactionHash"]).hex().removeprefix("0x")

    def anchored_heads(self) -> dict[int, str]:
        count = int(self._call(self.anchor_contract.functions.anchorCount()))
        components = anchor_components(cast(list[dict[str, Any]], self.anchor_contract.abi))
        heads: dict[int, str] = {}
        for index in range(count):
            record = AnchorRecord.decode(self._call(self.anchor_contract.functions.anchorAt(index)), components)
            heads[record.sequence] = record.head_hash.hex()
        return heads
