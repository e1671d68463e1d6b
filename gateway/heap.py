"""The interpreter's heap in a long-running process: what was built at start-up leaves the cyclic collector's
view, once per process.

A full collection walks every tracked object. The gateway's start-up (modules, schemas, mappers, the chain
libraries) leaves several hundred thousand of them (370,000 after ``create_app`` alone), and under read load a
full collection came every 6 to 12 seconds and held the interpreter for 200 to 250 ms: every request and every
thread waited behind it. Frozen, those objects are
never walked again (they live as long as the process anyway), and a full collection walks only what was made
since, in tens of milliseconds. Once per process: a test process that builds many apps freezes the first only, so
nothing made later is kept from the collector."""

from __future__ import annotations

import gc

_frozen = False


def freeze_once() -> None:
    """Collect what start-up left as garbage, then freeze the rest (a no-op after the first call)."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
