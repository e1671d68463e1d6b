"""Decode revert data of our contracts into readable custom errors, e.g. ``RepoNonceUsed(0xab…, 7)``."""

from __future__ import annotations

from functools import cache

from eth_abi.abi import decode
from eth_utils.crypto import keccak

from contracts.artifacts import artifact_names, load_artifact


def _signature(item: dict[str, object]) -> tuple[str, list[str]]:
    types = [_abi_type(i) for i in item.get("inputs", [])]  # type: ignore[attr-defined]
    return f"{item['name']}({','.join(types)})", types


def _abi_type(param: dict[str, object]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])  # type: ignore[attr-defined]
        return f"({inner}){kind[5:]}"
    return kind


@cache
def error_table() -> dict[bytes, tuple[str, list[str]]]:
    """Selector -> (error name, argument types) over every committed artifact, OpenZeppelin's errors included."""
    table: dict[bytes, tuple[str, list[str]]] = {
        bytes.fromhex("08c379a0"): ("Error", ["string"]),
        bytes.fromhex("4e487b71"): ("Panic", ["uint256"]),
    }
    for name in artifact_names():
        for item in load_artifact(name).abi:
            if item.get("type") == "error":
                signature, types = _signature(item)
                table[keccak(text=signature)[:4]] = (str(item["name"]), types)
    return table


def decode_revert(data: bytes | str | None) -> str | None:
    """``Name(arg, ...)`` for known revert data, or None when it is empty or unknown."""
    if data is None:
        return None
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    if len(raw) < 4 or raw[:4] not in error_table():
        return None
    name, types = error_table()[raw[:4]]
    try:
        values = decode(types, raw[4:])
    except Exception:  # malformed payload behind a known selector
        return f"{name}(<undecodable>)"
    shown = ", ".join("0x" + v.hex() if isinstance(v, bytes) else str(v) for v in values)
    return f"{name}({shown})"
