"""How a JSON-RPC method is declared: a decorator that names it and says where it runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Handler = Callable[..., Any]
F = TypeVar("F", bound=Handler)


def rpc_method(name: str, admin: bool = False, blocking: bool = False) -> Callable[[F], F]:
    """Register a method; ``blocking`` ones (EVM execution, log scans, traces, proofs) run on the node's call pool
    under the request's budget (:mod:`node.rpc.budget`), so a long eth_call stalls neither the event loop that
    admits transactions nor the executor that builds blocks."""

    def mark(fn: F) -> F:
        fn.rpc_name = name  # type: ignore[attr-defined]
        fn.rpc_admin = admin  # type: ignore[attr-defined]
        fn.rpc_blocking = blocking  # type: ignore[attr-defined]
        return fn

    return mark
