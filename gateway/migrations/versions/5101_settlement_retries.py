"""settlement retries: a failed registry write sent again points at the settlement it retries (once each)

Revision ID: 5101
Revises: 4101
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5101"
down_revision: str | None = "4101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_of", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_settlements_retry_of"), ["retry_of"])


def downgrade() -> None:
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_settlements_retry_of"), type_="unique")
        batch_op.drop_column("retry_of")
