"""oracle price points: every price the oracle was given per pair, where it is on chain (a report values
collateral at the price in force at its event, not today's)

Revision ID: s19_6601
Revises: m2301
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s19_6601"
down_revision: str | None = "m2301"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oracle_price_points",
        sa.Column("asset", sa.String(length=42), nullable=False),
        sa.Column("quote", sa.String(length=42), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("asset", "quote", "block", "log_index", name=op.f("pk_oracle_price_points")),
    )


def downgrade() -> None:
    op.drop_table("oracle_price_points")
