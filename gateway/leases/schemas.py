"""Wire shapes of the lease routes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LeaseRequest(BaseModel):
    holder: str = Field(min_length=1, max_length=200, description="the instance's id, e.g. host:pid")
    ttl_seconds: float = Field(3.0, ge=0.5, le=30, description="renew well within this")


class LeasePublic(BaseModel):
    kind: str
    holder: str
    token: int = Field(description="fencing token: send it as X-Lease-Token on the service's writes")
    ttl_seconds: float
