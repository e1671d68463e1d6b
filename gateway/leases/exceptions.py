"""The lease routes' refusals: both are conflicts (409), told apart by their problem type."""

from __future__ import annotations

from gateway.exceptions import Conflict


class LeaseHeld(Conflict):
    title = "Lease held by another instance"
    type_slug = "lease-held"


class StaleLease(Conflict):
    title = "Stale lease token"
    type_slug = "stale-lease"
