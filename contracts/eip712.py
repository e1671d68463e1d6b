"""EIP-712 type definitions of the RepoEngine, for Python signers (gateway, tests, member scripts).

They must match ``contracts/src`` exactly: a test compares the digests computed here with the engine's own
``hash*`` views. The domain binds the chain id and the engine's address, so a signature is valid on one
deployment only.
"""

from __future__ import annotations

from typing import Any, Final, TypedDict

from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

DOMAIN_NAME: Final = "RepoNet RepoEngine"
DOMAIN_VERSION: Final = "1"

EIP712_DOMAIN: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

REPO_TERMS: Final = [
    {"name": "seller", "type": "address"},
    {"name": "buyer", "type": "address"},
    {"name": "cashToken", "type": "address"},
    {"name": "purchasePrice", "type": "uint256"},
    {"name": "rate", "type": "int256"},
    {"name": "dayCountBasis", "type": "uint16"},
    {"name": "startTime", "type": "uint64"},
    {"name": "maturity", "type": "uint64"},
    {"name": "noticePeriod", "type": "uint64"},
    {"name": "collateralToken", "type": "address"},
    {"name": "collateralAmount", "type": "uint256"},
    {"name": "haircutBps", "type": "uint16"},
    {"name": "minTransferAmount", "type": "uint256"},
    {"name": "marginCurePeriod", "type": "uint64"},
    {"name": "gracePeriod", "type": "uint64"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]

EARLY_REPURCHASE: Final = [
    {"name": "repoId", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]

SUBSTITUTION: Final = [
    {"name": "repoId", "type": "uint256"},
    {"name": "newCollateralToken", "type": "address"},
    {"name": "newCollateralAmount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]

AMENDMENT: Final = [
    {"name": "repoId", "type": "uint256"},
    {"name": "kind", "type": "uint8"},
    {"name": "newMaturity", "type": "uint64"},
    {"name": "newRate", "type": "int256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]

# A GC order-book order (IRepoGcSettlement): signed once over limits, filled by its matcher within them.
GC_ORDER: Final = [
    {"name": "maker", "type": "address"},
    {"name": "matcher", "type": "address"},
    {"name": "side", "type": "uint8"},
    {"name": "cashToken", "type": "address"},
    {"name": "basket", "type": "bytes32"},
    {"name": "start", "type": "uint64"},
    {"name": "maturity", "type": "uint64"},
    {"name": "rate", "type": "int256"},
    {"name": "size", "type": "uint256"},
    {"name": "minFill", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint64"},
]

PRIMARY_TYPES: Final = {
    "RepoTerms": REPO_TERMS,
    "EarlyRepurchase": EARLY_REPURCHASE,
    "Substitution": SUBSTITUTION,
    "Amendment": AMENDMENT,
    "GcOrder": GC_ORDER,
}

GC_LEND: Final = 0  # GcOrder.side: gives cash against collateral (the repo's buyer)
GC_BORROW: Final = 1  # gives collateral for cash (the repo's seller)

AMEND_ROLL: Final = 0
AMEND_RERATE: Final = 1
AMEND_COUPON_ELECTION: Final = 2  # newRate != 0: coupons reduce the repurchase price (GMRA 5(ii))


class RepoTerms(TypedDict):
    """The terms both parties sign to open a repo (DESIGN.md, "Repo terms"). Amounts in smallest units."""

    seller: str
    buyer: str
    cashToken: str
    purchasePrice: int
    rate: int
    dayCountBasis: int
    startTime: int
    maturity: int
    noticePeriod: int
    collateralToken: str
    collateralAmount: int
    haircutBps: int
    minTransferAmount: int
    marginCurePeriod: int
    gracePeriod: int
    nonce: int
    deadline: int


class GcOrder(TypedDict):
    """What a member signs to trade GC (``IRepoGcSettlement.GcOrder``): ``basket`` is the basket's hash
    (``contracts.gc.basket_hash``), ``rate`` a LEND order's floor or a BORROW order's cap."""

    maker: str
    matcher: str
    side: int
    cashToken: str
    basket: bytes
    start: int
    maturity: int
    rate: int
    size: int
    minFill: int
    nonce: int
    deadline: int


def domain(chain_id: int, engine: str) -> dict[str, Any]:
    """The engine's EIP-712 domain on one chain."""
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": engine}


def typed_data(primary_type: str, message: dict[str, Any], *, chain_id: int, engine: str) -> dict[str, Any]:
    """A complete EIP-712 document (as eth_signTypedData_v4 and wallets take it)."""
    if primary_type not in PRIMARY_TYPES:
        raise ValueError(f"unknown primary type {primary_type!r}")
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary_type: PRIMARY_TYPES[primary_type]},
        "primaryType": primary_type,
        "domain": domain(chain_id, engine),
        "message": dict(message),
    }


def for_wallets(document: dict[str, Any]) -> dict[str, Any]:
    """The document as JSON clients get it: every integer of the message as a decimal string, bytes as 0x hex.

    ``JSON.parse`` rounds numbers above 2^53 (a nonce, a 1e18-scaled rate), so a browser wallet would sign other
    terms; EIP-712 wallets (and eth_account) take decimal strings for integer types, with the same digest."""
    message = {k: _for_json(v) for k, v in document["message"].items()}
    return {**document, "message": message}


def _for_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def digest(primary_type: str, message: dict[str, Any], *, chain_id: int, engine: str) -> bytes:
    """The 32-byte EIP-712 digest a signer signs."""
    signable = encode_typed_data(full_message=typed_data(primary_type, message, chain_id=chain_id, engine=engine))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)
