"""The exit statuses of every ``reponet`` command, in one table (the README's "Exit codes" lists the same).

One number means one thing whichever command returns it, so a script can act on it without knowing the command.
"""

from __future__ import annotations

from enum import IntEnum, unique


@unique
class ExitStatus(IntEnum):
    OK = 0  # done; for `up`, stopped cleanly (Ctrl-C, SIGTERM)
    ERROR = 1  # unexpected error
    USAGE = 2  # bad arguments (argparse's own status too)
    REFUSED = 3  # refused by the gateway or a control: four-eyes, conflict, not found, forbidden, no allowance,
    #               or a command that would lose data (retiring a master key something is still sealed under)
    CONFIG = 4  # configuration or data directory: bad settings, no network in the data dir, a port in use
    UNREACHABLE = 5  # the gateway or the chain cannot be reached
    CHAIN_FAILED = 6  # a chain transaction reverted (directly or in a gateway settlement) or a deployment step failed
    CHILD_FAILED = 7  # `up`: a child process (node, gateway) never became ready or kept crashing
    CHECK_FAILED = 8  # a check found a problem: `status` unhealthy, `audit verify` found the trail broken
    STEP_FAILED = 9  # `demo`: a step of the story failed (the message says which)
    NOT_AVAILABLE = 10  # a requested feature is not available in this install
