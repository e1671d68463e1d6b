"""/v1/operator/network/status: what an operator watches on the chain the gateway settles on — the head and its age,
the QBFT validators at the head, the node's peers, its transaction pool — read over JSON-RPC from the gateway's node.

Each reading stands alone: a method the node does not offer (a development chain has no ``qbft_*``) or that fails
gives null for that field and says why in ``unavailable``, rather than failing the whole view."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from eth_utils.address import to_checksum_address
from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.addresses import Address
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketOperate
from gateway.settlement.hub import HubDep

router = APIRouter(tags=["operator"], responses=problem_responses(401, 403, 429))
T = TypeVar("T")


class PoolPublic(BaseModel):
    pending: int
    queued: int


class NetworkStatusPublic(BaseModel):
    head: int | None = Field(description="the node's latest block number")
    head_age_seconds: float | None = Field(description="now minus the head's timestamp: a stalled chain grows it")
    validators: list[Address] | None = Field(
        description="the QBFT validators at the head (qbft_getValidatorsByBlockNumber)"
    )
    peers: int | None = Field(description="the node's connected peers (net_peerCount)")
    pool: PoolPublic | None = Field(description="transactions waiting in the node's pool (txpool_status)")
    unavailable: dict[str, str] = Field(description="reading -> why it is null")


def _number(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _number_and_time(block: dict[str, Any]) -> tuple[int, int]:
    return _number(block["number"]), _number(block["timestamp"])


def _addresses(values: list[str]) -> list[str]:
    return [str(to_checksum_address(v)) for v in values]


@router.get("/operator/network/status", response_model=NetworkStatusPublic, status_code=200)
def network_status(_: MarketOperate, hub: HubDep) -> NetworkStatusPublic:
    """The chain as the gateway's node sees it now (operator staff). No database transaction is open here."""
    unavailable: dict[str, str] = {}
    if hub.market is None:
        unavailable = {name: "no chain is attached to this gateway" for name in ("head", "validators", "peers", "pool")}
        return NetworkStatusPublic(
            head=None, head_age_seconds=None, validators=None, peers=None, pool=None, unavailable=unavailable
        )
    provider = hub.market.w3.provider

    def read(name: str, method: str, params: list[Any], shape: Callable[[Any], T]) -> T | None:
        try:
            answer = provider.make_request(method, params)  # type: ignore[arg-type]
            if "error" in answer:  # the node's own refusal (an unknown method): its message, bounded
                raise LookupError(str(answer["error"].get("message", "refused"))[:120])
            return shape(answer["result"])
        except LookupError as exc:
            unavailable[name] = f"{method}: {exc}"
        except Exception as exc:  # one reading lost, the others still shown: the error's type only (a transport
            # error's text can carry the node's URL and its credentials)
            unavailable[name] = f"{method}: {type(exc).__name__}"
        return None

    head = read(
        "head", "eth_getBlockByNumber", ["latest", False], lambda b: (_number(b["number"]), _number(b["timestamp"]))
    )
    return NetworkStatusPublic(
        head=None if head is None else head[0],
        head_age_seconds=None if head is None else round(max(0.0, time.time() - head[1]), 1),
        validators=read("validators", "qbft_getValidatorsByBlockNumber", ["latest"], _addresses),
        peers=read("peers", "net_peerCount", [], _number),
        pool=read(
            "pool",
            "txpool_status",
            [],
            lambda r: PoolPublic(pending=_number(r["pending"]), queued=_number(r["queued"])),
        ),
        unavailable=unavailable,
    )
