"""a bond's final maturity on its instrument row (collateral must outlive the repo), and the engine's claim ledger
as the indexer follows it (what each party can collect)

Revision ID: 4001
Revises: 2503
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4001"
down_revision: str | None = "2503"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instruments") as batch:
        batch.add_column(sa.Column("maturity", sa.BigInteger(), nullable=True))
    op.create_table(
        "engine_claims",
        sa.Column("party", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.String(length=80), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("party", "token", name=op.f("pk_engine_claims")),
    )


def downgrade() -> None:
    op.drop_table("engine_claims")
    with op.batch_alter_table("instruments") as batch:
        batch.drop_column("maturity")
