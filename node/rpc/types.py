"""Wire shapes of the JSON-RPC layer."""

from __future__ import annotations

from typing import Any, NewType, TypedDict

HexStr = NewType("HexStr", str)
JsonValue = Any


class RpcRequest(TypedDict, total=False):
    jsonrpc: str
    id: JsonValue
    method: str
    params: list[JsonValue] | dict[str, JsonValue]


class RpcErrorObject(TypedDict, total=False):
    code: int
    message: str
    data: JsonValue


class RpcResponse(TypedDict, total=False):
    jsonrpc: str
    id: JsonValue
    result: JsonValue
    error: RpcErrorObject


class LogObject(TypedDict):
    address: str
    topics: list[str]
    data: str
    blockNumber: str
    blockHash: str
    blockTimestamp: str
    transactionHash: str
    transactionIndex: str
    logIndex: str
    removed: bool
