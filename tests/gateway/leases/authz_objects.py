"""Bodies for the lease routes in the authorization matrix (they have no path parameter)."""

from __future__ import annotations

from typing import Any

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", f"/v1/leases/{kind}"): {"holder": "authz-matrix"} for kind in ("risk", "price-feed", "surveillance")
}
