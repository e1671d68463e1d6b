"""Process plumbing of a multi-worker ``gateway run``: its HTTP workers and its background process die with it (a
parent-death signal), so a supervisor that restarts a killed gateway never finds a second relayer still running.
Low in the layers: the app (HTTP workers) and ``gateway.background`` both use it."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent exits (a no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
