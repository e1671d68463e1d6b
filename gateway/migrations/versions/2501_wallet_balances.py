"""wallet balances followed by the indexer (served by /v1/balances)

Revision ID: 2501
Revises: 2302
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2501"
down_revision: str | None = "2302"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_balances",
        sa.Column("wallet", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("units", sa.String(length=80), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("wallet", "token", name=op.f("pk_wallet_balances")),
    )


def downgrade() -> None:
    op.drop_table("wallet_balances")
