"""The demo's one exception."""

from __future__ import annotations


class DemoError(Exception):
    """A step of the story failed; the message says which and why."""
