"""The app's JSON response: every address in a body goes out EIP-55 checksummed (see gateway.addresses)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from gateway.addresses import checksummed


class ChecksummedJSONResponse(JSONResponse):
    """The default response class: one place, so a route cannot forget to checksum an address field."""

    def render(self, content: Any) -> bytes:
        return super().render(checksummed(content))
