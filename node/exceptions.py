"""Errors of the node, rooted at :class:`NodeError`.

Every error a JSON-RPC caller can see is a :class:`RpcError` subclass carrying its wire ``code``;
:func:`to_rpc_error` is the single place that turns any exception into a ``{code, message, data}``
object, so handlers just raise.
"""

from __future__ import annotations

from typing import Any


class NodeError(Exception):
    """Root of all errors raised by the node."""


class ConfigError(NodeError):
    """Bad configuration: genesis, data directory, flags."""


class GenesisError(ConfigError):
    """The genesis file cannot be parsed or is inconsistent."""


class KeystoreError(ConfigError):
    """The validator keystore is missing or its password is wrong."""


class StorageError(NodeError):
    """The on-disk store is missing, from another chain, or damaged."""


class PortInUse(NodeError):
    """A port the node was told to listen on is taken (the CLI exits with its own status)."""


class InvalidBlock(NodeError):
    """A block from elsewhere fails verification (seals, execution or roots)."""


class RpcError(NodeError):
    """An error with a JSON-RPC code, returned to the caller as is."""

    code: int = -32603

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class ParseError(RpcError):
    code = -32700


class InvalidRequest(RpcError):
    code = -32600


class MethodNotFound(RpcError):
    code = -32601

    def __init__(self, method: str) -> None:
        super().__init__(f"the method {method} does not exist/is not available")
        self.method = method


class InvalidParams(RpcError):
    code = -32602


class InternalError(RpcError):
    code = -32603


class ServerError(RpcError):
    """geth's generic -32000: nonce, funds, pool and execution errors."""

    code = -32000


class ExecutionReverted(RpcError):
    """A call or gas estimate reverted: code 3 with the revert data (execution-apis)."""

    code = 3

    def __init__(self, revert_data: bytes, reason: str | None = None) -> None:
        message = "execution reverted" + (f": {reason}" if reason else "")
        super().__init__(message, "0x" + revert_data.hex())
        self.revert_data = revert_data


class TxRejected(ServerError):
    """The pool refused a transaction (geth wording in the message)."""


class SenderNotAuthorized(RpcError):
    """Account permissioning refused the sender (Besu's code)."""

    code = -32007

    def __init__(self) -> None:
        super().__init__("sender account not authorized")


class LimitExceeded(RpcError):
    """A request is over a configured limit (EIP-1474 -32005)."""

    code = -32005


class FilterNotFound(ServerError):
    def __init__(self) -> None:
        super().__init__("filter not found")


class ResourceNotFound(RpcError):
    code = -32001


def to_rpc_error(exc: BaseException) -> dict[str, Any]:
    """The JSON-RPC error object for ``exc``; unknown exceptions become a bare internal error."""
    if isinstance(exc, RpcError):
        error: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.data is not None:
            error["data"] = exc.data
        return error
    return {"code": InternalError.code, "message": "internal error"}
