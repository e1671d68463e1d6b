"""The dev chain's accounts as a wallet, as Anvil and Hardhat offer them: ``eth_accounts``, ``eth_sign`` (and
``personal_sign``), ``eth_signTransaction``, ``eth_signTypedData_v4`` and ``eth_sendTransaction`` sign with the
well-known test keys.

Only ``reponet-node dev`` hands its keys to the service (:attr:`NodeService.dev_keys`); in ``run`` and ``network``
modes the node holds no member key, so ``eth_accounts`` is empty and every signing method answers "unknown
account", as geth does without unlocked accounts.
"""

from __future__ import annotations

import json
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_typing import Address
from eth_utils.address import to_checksum_address

from node.exceptions import InvalidParams, ServerError
from node.rpc import params as p
from node.rpc.base import MethodsBase
from node.rpc.budget import RequestBudget
from node.rpc.formatting import a, d
from node.rpc.registry import rpc_method
from node.txpool import decode_raw_transaction


class DevSigningMethods(MethodsBase):
    def _dev_key(self, address: Any, what: str = "address") -> bytes:
        key = self.node.dev_keys.get(p.address(address, what))
        if key is None:
            raise ServerError("unknown account")
        return key

    @rpc_method("eth_accounts")
    def eth_accounts(self) -> list[str | None]:
        return [a(address) for address in self.node.dev_keys]

    @rpc_method("eth_sign")
    def eth_sign(self, address: Any, message: Any) -> str:
        key = self._dev_key(address)
        signed = Account.sign_message(encode_defunct(primitive=p.data(message, "message")), key)
        return d(bytes(signed.signature))

    @rpc_method("personal_sign")
    def personal_sign(self, message: Any, address: Any, password: Any = None) -> str:
        """``eth_sign`` with its parameters the other way round (what ethers' and viem's JSON-RPC signers call)."""
        return self.eth_sign(address, message)

    @rpc_method("eth_signTypedData_v4")
    def eth_sign_typed_data_v4(self, address: Any, typed_data: Any) -> str:
        key = self._dev_key(address)
        if isinstance(typed_data, str):
            try:
                typed_data = json.loads(typed_data)
            except ValueError as exc:
                raise InvalidParams("invalid argument 1: typed data is not JSON") from exc
        if not isinstance(typed_data, dict):
            raise InvalidParams("invalid argument 1: typed data object expected")
        try:
            signable = encode_typed_data(full_message=typed_data)
        except Exception as exc:  # malformed types or values of any kind: the client's error
            raise InvalidParams(f"invalid argument 1: typed data: {exc}"[:300]) from exc
        return d(bytes(Account.sign_message(signable, key).signature))

    async def _signed(self, tx: Any) -> bytes:
        """A transaction object completed as a wallet would (nonce, gas, fees, type) and signed."""
        if not isinstance(tx, dict):
            raise InvalidParams("invalid argument 0: transaction object expected")
        obj = p.call_object(tx)
        if obj.sender is None:
            raise InvalidParams("invalid argument 0: from is required")
        key = self._dev_key(d(obj.sender), "from")
        chain = self.node.chain
        fields: dict[str, Any] = {
            "chainId": chain.chain_id,
            "value": obj.value,
            "data": obj.data,
            "nonce": obj.nonce
            if obj.nonce is not None
            else self.node.pool.pending_nonce(obj.sender, chain.state_for_next_block().get_nonce(Address(obj.sender))),
        }
        if obj.to is not None:
            fields["to"] = to_checksum_address(obj.to)
        if obj.access_list:
            fields["accessList"] = [
                {"address": to_checksum_address(addr), "storageKeys": [f"0x{k:064x}" for k in keys]}
                for addr, keys in obj.access_list
            ]
        if tx.get("gasPrice") is not None:
            fields["gasPrice"] = p.quantity(tx["gasPrice"], "gasPrice")
        else:
            base_fee = chain.head.base_fee_per_gas or 0
            tip = p.quantity(tx["maxPriorityFeePerGas"], "tip") if tx.get("maxPriorityFeePerGas") is not None else 0
            fields["maxPriorityFeePerGas"] = tip
            cap = tx.get("maxFeePerGas")
            fields["maxFeePerGas"] = p.quantity(cap, "maxFeePerGas") if cap is not None else 2 * base_fee + tip
        if obj.gas is not None:
            fields["gas"] = obj.gas
        else:
            estimate = self.table["eth_estimateGas"][0]
            call = {k: v for k, v in tx.items() if k not in ("gas", "nonce")}
            budget = RequestBudget(self.calls.limits)
            fields["gas"] = int(await self.calls.run(str(d(obj.sender)), budget, estimate, call, "pending"), 16)
        return bytes(Account.sign_transaction(fields, key).raw_transaction)

    @rpc_method("eth_signTransaction")
    async def eth_sign_transaction(self, tx: Any) -> str:
        return d(await self._signed(tx))

    @rpc_method("eth_sendTransaction")
    async def eth_send_transaction(self, tx: Any) -> str:
        raw = await self._signed(tx)
        return d(self.node.submit(decode_raw_transaction(raw)))
