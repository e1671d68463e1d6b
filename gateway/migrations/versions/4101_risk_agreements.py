"""margin agreements between member pairs (the risk service's terms)

Revision ID: 4101
Revises: 4001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4101"
down_revision: str | None = "4001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_agreements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_a", sa.Uuid(), nullable=False),
        sa.Column("member_b", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("base_currency", sa.String(length=42), nullable=False),
        sa.Column("threshold_units", sa.String(length=80), nullable=False),
        sa.Column("minimum_transfer_units", sa.String(length=80), nullable=False),
        sa.Column("rounding_units", sa.String(length=80), nullable=False),
        sa.Column("method", sa.String(length=1), nullable=False),
        sa.Column("cure_period_seconds", sa.BigInteger(), nullable=False),
        sa.Column("auto_call_a", sa.Boolean(), nullable=False),
        sa.Column("auto_call_b", sa.Boolean(), nullable=False),
        sa.Column("proposed_by", sa.Uuid(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_a"], ["organizations.id"], name=op.f("fk_risk_agreements_member_a_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["member_b"], ["organizations.id"], name=op.f("fk_risk_agreements_member_b_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["organizations.id"], name=op.f("fk_risk_agreements_proposed_by_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["organizations.id"], name=op.f("fk_risk_agreements_approved_by_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_agreements")),
        sa.UniqueConstraint("member_a", "member_b", "version", name="uq_risk_agreements_version"),
    )
    with op.batch_alter_table("risk_agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_agreements_member_a"), ["member_a"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_agreements_member_b"), ["member_b"], unique=False)


def downgrade() -> None:
    op.drop_table("risk_agreements")
