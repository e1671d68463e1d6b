"""risk agreements' valuation times (UTC times of day the exposure is valued for margin calls)

Revision ID: r1801
Revises: 6501

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r1801"
down_revision: str | None = "6501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risk_agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("valuation_times", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("risk_agreements", schema=None) as batch_op:
        batch_op.drop_column("valuation_times")
