"""service leases: one row per (service kind, organization) electing one active risk, price feed and surveillance
instance over the API, with a fencing token

Revision ID: 6501
Revises: 6101
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6501"
down_revision: str | None = "6101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_leases",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "org_id", name=op.f("pk_service_leases")),
    )


def downgrade() -> None:
    op.drop_table("service_leases")
