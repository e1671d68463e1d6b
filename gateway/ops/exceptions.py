"""Errors of the operator commands that the CLI maps to exit statuses (``gateway.ops.cli``); ``reponet admin``'s
own usage error is ``gateway.ops.admin.AdminUsageError``."""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments (unknown token, malformed address)."""


class Refused(Exception):
    """A precondition on chain is not met (e.g. no allowance to redeem)."""
