"""The app's JSON response: every address in a body goes out EIP-55 checksummed (see gateway.addresses)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from gateway.addresses import checksummed_json


class ChecksummedJSONResponse(JSONResponse):
    """The default response class: one place, so a route cannot forget to checksum an address field. Encoded
    compactly (Starlette's separators), then checksummed on the bytes."""

    def render(self, content: Any) -> bytes:
        return checksummed_json(super().render(content))
