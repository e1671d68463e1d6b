"""instructions.status indexed: the indexer's expiry sweep reads the pending and handed-out ones every few seconds

Revision ID: w2003
Revises: w2002
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "w2003"
down_revision: str | None = "w2002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instructions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instructions_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instructions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instructions_status"))
