"""What trading and settlement share in a running gateway: the EIP-712 domain, the chain, the relayer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from gateway.settlement_records.bell import RELAYER, Bell, ring_all
from gateway.trading.exceptions import SettlementUnavailable

if TYPE_CHECKING:
    from gateway.events.bus import EventBus
    from gateway.settlement.market import Market
    from gateway.settlement.relay_loop import Relayer


@dataclass
class Hub:
    chain_id: int
    engine: str | None
    market: Market | None = None
    relayer: Relayer | None = None
    bus: EventBus | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def now(self) -> int:
        """Chain time when a chain is attached (deadlines are checked against blocks), else wall-clock time."""
        return self.market.now() if self.market is not None else int(time.time())

    def require_engine(self) -> str:
        if self.engine is None:
            raise SettlementUnavailable("REPONET_REPO_ENGINE_ADDRESS is not set")
        return self.engine

    def require_market(self) -> Market:
        if self.market is None:
            raise SettlementUnavailable("no chain attached (REPONET_CHAIN_RPC_URL, REPONET_REPO_ENGINE_ADDRESS)")
        return self.market

    def notify(self) -> None:
        """A settlement was queued: the relayer of this process looks at once, or the background process's is rung
        (an HTTP worker of several)."""
        if self.relayer is not None:
            self.relayer.wake.set()
        elif isinstance(doorbells := self.extra.get("doorbells"), Path):
            ring_all(doorbells, RELAYER)


def waiters_bell(hub: Hub) -> Bell | None:
    """This HTTP worker's bell, rung by the background process when a settlement ends or a block is indexed."""
    bell = hub.extra.get("waiters_bell")
    return bell if isinstance(bell, Bell) else None


def ended_bell(hub: Hub) -> Bell | None:
    """Rung when a settlement ends: this process's relayer's bell, else (an HTTP worker of several) the doorbell's."""
    return hub.relayer.bell if hub.relayer is not None else waiters_bell(hub)


def indexed_bell(hub: Hub) -> Bell | None:
    """Rung when the indexer's cursor moves. An HTTP worker of several hears the background process's indexer
    through its doorbell; the ``Indexer`` it keeps itself (for ``reconcile``) never runs, and its bell never rings,
    so the doorbell comes first."""
    if (bell := waiters_bell(hub)) is not None:
        return bell
    own = getattr(hub.extra.get("indexer"), "bell", None)
    return own if isinstance(own, Bell) else None


async def get_hub(request: Request) -> Hub:
    hub = getattr(request.app.state, "hub", None)
    if not isinstance(hub, Hub):
        raise SettlementUnavailable("settlement is not installed")
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def get_optional_hub(request: Request) -> Hub | None:
    """The hub where settlement is installed, else None (routes that write the registry directly without it)."""
    hub = getattr(request.app.state, "hub", None)
    return hub if isinstance(hub, Hub) else None


OptionalHubDep = Annotated[Hub | None, Depends(get_optional_hub)]
