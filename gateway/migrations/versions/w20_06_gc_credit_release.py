"""GC fills give their credit back: when each fill's credit was released to the book, and fills found by repo

Revision ID: w2006
Revises: w2005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w2006"
down_revision: str | None = "w2005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gc_fills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_released_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_gc_fills_repo_id"), ["repo_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gc_fills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gc_fills_repo_id"))
        batch_op.drop_column("credit_released_at")
