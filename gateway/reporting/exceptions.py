"""The reporting package's errors: one root, under the gateway's (so the API maps them to problem JSON)."""

from __future__ import annotations

from gateway.exceptions import GatewayError, InvalidRequest, NotFound


class ReportingError(GatewayError):
    """Root of the reporting package's errors."""


class ReportInvalid(ReportingError):
    """A generated report does not validate against the shipped XSD: a bug, never sent on."""

    title = "Report does not validate against its schema"
    type_slug = "report-invalid"


class MemberLeiInvalid(InvalidRequest):
    """A member's LEI fails ISO 17442 (format or MOD 97-10 check digits): it cannot be reported."""

    title = "Invalid LEI"
    type_slug = "invalid-lei"


class MemberUnknown(NotFound):
    title = "Member not found"
    type_slug = "member-not-found"


class ReportFileUnreadable(InvalidRequest):
    """A report file given to reconcile is not a CSV of this package's columns."""

    title = "Report file unreadable"
    type_slug = "report-file-unreadable"
