"""The AuditAnchor as the gateway reads it: an anchor record by field name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.chain.bindings.engine import snake_case


@dataclass(frozen=True)
class AnchorRecord:
    """``IAuditAnchor.Anchor``: the audit log's head hash at ``sequence``, when and by whom it was anchored."""

    sequence: int
    head_hash: bytes
    timestamp: int
    anchored_by: str

    @classmethod
    def decode(cls, values: Any, components: list[dict[str, Any]]) -> AnchorRecord:
        """The struct as ``anchorAt`` returns it (a tuple in ABI order), by the ABI's field names."""
        named = {snake_case(str(c["name"])): v for c, v in zip(components, values, strict=True)}
        return cls(
            sequence=int(named["sequence"]),
            head_hash=bytes(named["head_hash"]),
            timestamp=int(named["timestamp"]),
            anchored_by=str(named["anchored_by"]),
        )


def anchor_components(abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``Anchor`` struct's components as ``anchorAt`` returns it in ``abi``."""
    entry = next(e for e in abi if e.get("type") == "function" and e["name"] == "anchorAt")
    return list(entry["outputs"][0]["components"])
