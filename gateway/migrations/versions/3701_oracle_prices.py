"""oracle prices followed by the indexer (valuations without a chain call per request)

Revision ID: 3701
Revises: 2501
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3701"
down_revision: str | None = "2501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oracle_prices",
        sa.Column("asset", sa.String(length=42), nullable=False),
        sa.Column("quote", sa.String(length=42), nullable=False),
        sa.Column("price", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("max_age", sa.BigInteger(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("asset", "quote", name=op.f("pk_oracle_prices")),
    )


def downgrade() -> None:
    op.drop_table("oracle_prices")
