"""risk cure tracking (standing instructions, close-out and excess proposals, notices) and manual price entries

Revision ID: 5501
Revises: 5101

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5501"
down_revision: str | None = "5101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_risk_notices_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_notices")),
        sa.UniqueConstraint("organization_id", "key", name="uq_risk_notices_key"),
    )
    with op.batch_alter_table("risk_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_notices_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "risk_instructions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("close_out", sa.String(length=8), nullable=False),
        sa.Column("excess_return", sa.String(length=8), nullable=False),
        sa.Column("remind_before_seconds", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_risk_instructions_created_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_risk_instructions_decided_by_users")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_risk_instructions_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_instructions")),
        sa.UniqueConstraint("organization_id", "version", name="uq_risk_instructions_version"),
    )
    with op.batch_alter_table("risk_instructions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_instructions_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "risk_price_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("asset", sa.String(length=42), nullable=False),
        sa.Column("quote", sa.String(length=42), nullable=False),
        sa.Column("price_percent_of_par", sa.String(length=40), nullable=False),
        sa.Column("entered_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entered_by"], ["users.id"], name=op.f("fk_risk_price_entries_entered_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_price_entries")),
    )
    with op.batch_alter_table("risk_price_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_price_entries_asset"), ["asset"], unique=False)

    op.create_table(
        "risk_proposals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("episode", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("valuation", sa.JSON(), nullable=False),
        sa.Column("instruction_id", sa.Uuid(), nullable=True),
        sa.Column("settlement_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_risk_proposals_decided_by_users")),
        sa.ForeignKeyConstraint(
            ["instruction_id"],
            ["risk_instructions.id"],
            name=op.f("fk_risk_proposals_instruction_id_risk_instructions"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_risk_proposals_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_proposals")),
        sa.UniqueConstraint("repo_id", "kind", "episode", name="uq_risk_proposals_episode"),
    )
    with op.batch_alter_table("risk_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_proposals_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_proposals_repo_id"), ["repo_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_proposals_repo_id"))
        batch_op.drop_index(batch_op.f("ix_risk_proposals_organization_id"))

    op.drop_table("risk_proposals")
    with op.batch_alter_table("risk_price_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_price_entries_asset"))

    op.drop_table("risk_price_entries")
    with op.batch_alter_table("risk_instructions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_instructions_organization_id"))

    op.drop_table("risk_instructions")
    with op.batch_alter_table("risk_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_notices_organization_id"))

    op.drop_table("risk_notices")
