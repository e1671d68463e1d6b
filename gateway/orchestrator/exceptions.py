"""Errors of ``reponet up`` that the user can fix (the CLI maps each to its exit status)."""

from __future__ import annotations


class UpError(Exception):
    """A step failed in a way the user can fix (message says how)."""


class NotAvailable(UpError):
    """A requested feature has not landed yet."""
