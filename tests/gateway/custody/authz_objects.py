"""Objects of organization A (and the operator's desk) for the cross-organization authorization matrix."""

from __future__ import annotations

import uuid

from gateway.operator.models import PricePosting, PriceStatus
from gateway.redemptions.models import Redemption, RedemptionStatus
from tests.gateway.conftest import Cast, World
from tests.gateway.market import BOND, CASH, list_instrument


def _listed(world: World) -> None:
    from gateway.trading.models import Instrument

    with world.ctx.sessions() as session:
        if session.get(Instrument, CASH.lower()) is not None:
            return
    list_instrument(world, CASH, "cash", 6, "EURD")
    list_instrument(world, BOND, "bond", 2, "DBR35")


def redemption(world: World, cast: Cast, objects: dict[str, str]) -> str:
    _listed(world)
    with world.ctx.sessions.begin() as session:
        row = Redemption(
            id=uuid.uuid4(),
            organization_id=world.orgs["a"],
            wallet_id=uuid.UUID(objects["wallet_id"]),
            token=CASH.lower(),
            amount="1",
            status=RedemptionStatus.REQUESTED.value,
            requested_by=cast.a_trader.id,
        )
        session.add(row)
        return str(row.id)


def price(world: World, cast: Cast, objects: dict[str, str]) -> str:
    _listed(world)
    with world.ctx.sessions.begin() as session:
        row = PricePosting(
            id=uuid.uuid4(),
            asset=BOND.lower(),
            quote=CASH.lower(),
            price_percent_of_par="50",
            status=PriceStatus.AWAITING_CONFIRMATION.value,
            proposed_by=cast.admin.id,
        )
        session.add(row)
        return str(row.id)


OBJECTS = {"redemption_id": redemption, "price_id": price}
