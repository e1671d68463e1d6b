"""The engine's ``open`` simulated without a custodial signature.

A custodial signature is made only after the member's policy, quorum and consent allow it, and it must never leave
the gateway before then: a node operator who saw it in an ``eth_call`` could complete an open the policy had not
approved. So the preflight never sends one. For the call only (geth's state overrides, which the node and Anvil
both take), each custodial wallet is given a contract's code that accepts any signature as ERC-1271 does, and a
placeholder stands in for its signature; the engine checks ECDSA or ERC-1271, so everything else it checks (KYC,
prices, nonces, balances, allowances, every rule of ``open``) runs as it will. A custodial wallet whose ``approve``
the gateway sends before the open is given that allowance the same way (its storage slot in the token, found and
confirmed by a read under the same override; a token whose slot is not confirmed is not simulated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils.crypto import keccak

from gateway.settlement.market import Market

# PUSH4 0x1626ba7e PUSH1 0xe0 SHL PUSH1 0 MSTORE PUSH1 0x20 PUSH1 0 RETURN: isValidSignature's magic value, always
ACCEPTS_ANY_SIGNATURE = "0x631626ba7e60e01b60005260206000f3"
PLACEHOLDER_SIGNATURE = "0x" + "00" * 65
# OpenZeppelin ERC20's ``_allowances``: the token's second slot (``_balances`` first), as PermissionedToken inherits
ALLOWANCES_SLOT = 1
_MAX = "0x" + "ff" * 32
_ALLOWANCE_OF = bytes.fromhex("dd62ed3e")  # allowance(address,address)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def allowance_slot(owner: str, spender: str, base: int = ALLOWANCES_SLOT) -> str:
    """The storage slot of ``allowance(owner, spender)`` in a Solidity ``mapping(owner => mapping(spender => ..))``."""
    inner = keccak(_word(int(owner, 16)) + _word(base))
    return "0x" + keccak(_word(int(spender, 16)) + inner).hex()


@dataclass
class Overrides:
    """The state overrides of one simulated open, by address."""

    accounts: dict[str, dict[str, object]] = field(default_factory=dict)

    def as_custodial(self, wallet: str) -> str:
        """``wallet`` accepts any signature for this call; the placeholder to pass as its signature."""
        self.accounts.setdefault(wallet, {})["code"] = ACCEPTS_ANY_SIGNATURE
        return PLACEHOLDER_SIGNATURE

    def allow(self, market: Market, token: str, owner: str) -> bool:
        """Give ``owner``'s allowance of ``token`` to the engine for this call; False if its slot is not confirmed."""
        slot = allowance_slot(owner, market.engine_address)
        probe = {token: {"stateDiff": {slot: _MAX}}}
        data = "0x" + (_ALLOWANCE_OF + _word(int(owner, 16)) + _word(int(market.engine_address, 16))).hex()
        if market.call_output(to=token, data=data, overrides=probe) != bytes.fromhex(_MAX[2:]):
            return False
        entry = self.accounts.setdefault(token, {})
        diff = entry.setdefault("stateDiff", {})
        assert isinstance(diff, dict)
        diff[slot] = _MAX
        return True
