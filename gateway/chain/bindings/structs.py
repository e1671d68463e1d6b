"""Decoding a contract's returned tuple by the ABI's own output names, so a reordered or added field fails loudly
instead of being read off by one."""

from __future__ import annotations

import dataclasses
from typing import Any

from gateway.chain.bindings.engine import snake_case

Block = int | str


def at_block(block: Block | None) -> dict[str, Block]:
    """A call's block: the node's latest unless one is named (an indexer reads at the block it indexed)."""
    return {} if block is None else {"block_identifier": block}


def outputs_of(abi: list[dict[str, Any]], function: str) -> list[dict[str, Any]]:
    """The named outputs of ``function`` in ``abi``: a returned struct's components, else the outputs themselves."""
    entry = next(e for e in abi if e.get("type") == "function" and e["name"] == function)
    outputs = list(entry["outputs"])
    if len(outputs) == 1 and outputs[0].get("components"):
        return list(outputs[0]["components"])
    return outputs


def named(values: Any, outputs: list[dict[str, Any]], wanted: type) -> dict[str, Any]:
    """``values`` (a tuple in ABI order) by snake-cased output name; the names must be exactly ``wanted``'s fields."""
    if len(values) != len(outputs):
        raise ValueError(f"the call returned {len(values)} fields, the ABI has {len(outputs)}")
    fields = {snake_case(str(o["name"])): v for o, v in zip(outputs, values, strict=True)}
    expected = {f.name for f in dataclasses.fields(wanted)}
    if fields.keys() != expected:
        raise ValueError(
            f"{wanted.__name__} differs from the ABI: "
            f"missing {expected - fields.keys()}, unknown {fields.keys() - expected}"
        )
    return fields
