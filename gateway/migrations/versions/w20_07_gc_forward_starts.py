"""GC orders that open on a later day: each order's book expiry apart from its signed deadline, a cancellation's
nonce void held until its fills have opened, and each scheduled fill's opening time

Revision ID: w2007
Revises: w2006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w2007"
down_revision: str | None = "w2006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gc_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("nonce_void_due", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_gc_orders_expires_at"), ["expires_at"], unique=False)
    op.execute("UPDATE gc_orders SET expires_at = deadline")  # every order so far opened on its trade day
    with op.batch_alter_table("gc_fills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opens_at", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_gc_fills_scheduled", ["status", "opens_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gc_fills", schema=None) as batch_op:
        batch_op.drop_index("ix_gc_fills_scheduled")
        batch_op.drop_column("opens_at")
    with op.batch_alter_table("gc_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gc_orders_expires_at"))
        batch_op.drop_column("nonce_void_due")
        batch_op.drop_column("expires_at")
