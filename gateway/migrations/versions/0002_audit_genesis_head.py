"""audit genesis head row

The audit log's head row exists from the start, so that concurrent first appends lock it instead of racing
to insert it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = sa.table(
        "audit_head", sa.column("id", sa.Integer), sa.column("sequence", sa.BigInteger), sa.column("entry_hash")
    )
    op.execute(
        head.insert().from_select(
            ["id", "sequence", "entry_hash"],
            sa.select(sa.literal(1), sa.literal(0), sa.literal(GENESIS)).where(~sa.exists().where(head.c.id == 1)),
        )
    )


def downgrade() -> None:
    op.execute("DELETE FROM audit_head WHERE id = 1 AND sequence = 0")
