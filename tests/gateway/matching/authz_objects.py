"""Organization A's GC order for the cross-organization authorization matrix, and bodies for the GC writes."""

from __future__ import annotations

import uuid
from typing import Any

from gateway.matching.models import GcOrder
from tests.gateway.conftest import Cast, World


def order(world: World, cast: Cast, objects: dict[str, str]) -> str:
    """A resting order of organization A (as the book would leave it)."""
    with world.ctx.sessions.begin() as session:
        row = GcOrder(
            id=uuid.uuid4(),
            organization_id=world.orgs["a"],
            client_order_id=f"authz-{uuid.uuid4().hex[:8]}",
            basket_id="GC-AUTHZ",
            tenor="1W",
            forward_start_days=0,
            side="lend",
            tif="limit",
            rate="30000000000000000",
            size_units="1000",
            min_fill_units="1",
            filled_units="0",
            status="resting",
            priority=1,
        )
        session.add(row)
        return str(row.id)


OBJECTS = {"order_id": order}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/gc/outcomes"): {"sequence": 1},
    ("put", "/v1/gc/credit-limits"): {"counterparty_id": str(uuid.UUID(int=1)), "limit_units": "0"},
    ("post", "/v1/gc/orders/{order_id}/signature"): {"signature": "0x" + "11" * 65},
    ("patch", "/v1/gc/orders/{order_id}"): {"size_units": "500"},
    ("post", "/v1/gc/orders/{order_id}/replace"): {"client_order_id": "authz-replace", "rate": "40000000000000000"},
}
