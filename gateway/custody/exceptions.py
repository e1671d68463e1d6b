"""Errors of the custody door (stable ``type`` slugs under the gateway's root)."""

from __future__ import annotations

from gateway.exceptions import PermissionDenied


class ConsentMissing(PermissionDenied):
    """A custodial signature was asked for without a recorded consent of the wallet's member that covers it."""

    title = "No consent of the member covers this signature"
    type_slug = "consent-missing"


class NotTheMembersPerson(PermissionDenied):
    """Only a person of the wallet's own member can consent to its signatures (never the operator)."""

    title = "Only the wallet's own member can consent"
    type_slug = "not-the-members-person"
