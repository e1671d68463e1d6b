"""Margin agreements cap the pair's GC order-book credit limits: the agreed cap, and the GC book's copy of it

Revision ID: w2008
Revises: w2007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w2008"
down_revision: str | None = "w2007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risk_agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gc_credit_cap_units", sa.String(length=80), nullable=True))
    op.create_table(
        "gc_pair_caps",
        sa.Column("member_a", sa.Uuid(), nullable=False),
        sa.Column("member_b", sa.Uuid(), nullable=False),
        sa.Column("cap_units", sa.String(length=80), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_a"], ["organizations.id"], name=op.f("fk_gc_pair_caps_member_a_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["member_b"], ["organizations.id"], name=op.f("fk_gc_pair_caps_member_b_organizations")
        ),
        sa.PrimaryKeyConstraint("member_a", "member_b", name=op.f("pk_gc_pair_caps")),
    )


def downgrade() -> None:
    op.drop_table("gc_pair_caps")
    with op.batch_alter_table("risk_agreements", schema=None) as batch_op:
        batch_op.drop_column("gc_credit_cap_units")
