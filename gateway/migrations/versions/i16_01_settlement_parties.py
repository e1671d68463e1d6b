"""settlement parties: who is party to each settlement, written when known, so an organization's settlement list is
one indexed range instead of a union of three lookups on every read; filled here from the settlements, trades and
instructions already recorded, by the same three rules

Revision ID: i1601
Revises: s19_6601
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i1601"
down_revision: str | None = "s19_6601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIES = sa.table(
    "settlement_parties",
    sa.column("settlement_id", sa.Uuid()),
    sa.column("organization_id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_SETTLEMENTS = sa.table(
    "settlements",
    sa.column("id", sa.Uuid()),
    sa.column("organization_id", sa.Uuid()),
    sa.column("trade_id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_TRADES = sa.table(
    "trades", sa.column("id", sa.Uuid()), sa.column("seller_org_id", sa.Uuid()), sa.column("buyer_org_id", sa.Uuid())
)
_INSTRUCTIONS = sa.table("instructions", sa.column("settlement_id", sa.Uuid()), sa.column("required", sa.JSON()))
_WALLETS = sa.table("wallets", sa.column("address", sa.String()), sa.column("organization_id", sa.Uuid()))


def upgrade() -> None:
    op.create_table(
        "settlement_parties",
        sa.Column("settlement_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_settlement_parties_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["settlements.id"], name=op.f("fk_settlement_parties_settlement_id_settlements")
        ),
        sa.PrimaryKeyConstraint("settlement_id", "organization_id", name=op.f("pk_settlement_parties")),
    )
    op.create_index(
        "ix_settlement_parties_listing",
        "settlement_parties",
        ["organization_id", "created_at", "settlement_id"],
        unique=False,
    )
    _fill()


def _fill() -> None:
    """The parties of the settlements already recorded: who asked, both sides of an open's trade, and the
    organizations of the wallets an instruction required."""
    bind = op.get_bind()
    created: dict[object, object] = {}
    parties: set[tuple[object, object]] = set()
    settlements = sa.select(_SETTLEMENTS.c.id, _SETTLEMENTS.c.organization_id, _SETTLEMENTS.c.created_at)
    for asked in bind.execute(settlements):
        created[asked.id] = asked.created_at
        if asked.organization_id is not None:
            parties.add((asked.id, asked.organization_id))
    opened = sa.select(_SETTLEMENTS.c.id, _TRADES.c.seller_org_id, _TRADES.c.buyer_org_id).join(
        _TRADES, _TRADES.c.id == _SETTLEMENTS.c.trade_id
    )
    for side in bind.execute(opened):
        parties.update((side.id, org) for org in (side.seller_org_id, side.buyer_org_id) if org is not None)
    owners = {str(row.address).lower(): row.organization_id for row in bind.execute(sa.select(_WALLETS))}
    linked = sa.select(_INSTRUCTIONS.c.settlement_id, _INSTRUCTIONS.c.required).where(
        _INSTRUCTIONS.c.settlement_id.is_not(None)
    )
    for instruction in bind.execute(linked):
        for address in instruction.required or []:
            owner = owners.get(str(address).lower())
            if owner is not None and instruction.settlement_id in created:
                parties.add((instruction.settlement_id, owner))
    rows = [{"settlement_id": s, "organization_id": o, "created_at": created[s]} for s, o in parties]
    if rows:
        bind.execute(sa.insert(_PARTIES), rows)


def downgrade() -> None:
    op.drop_index("ix_settlement_parties_listing", table_name="settlement_parties")
    op.drop_table("settlement_parties")
