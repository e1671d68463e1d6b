"""surveillance alerts, cases and case entries

Revision ID: 5801
Revises: 5701

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5801"
down_revision: str | None = "5701"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "surveillance_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.Uuid(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("close_requested_by", sa.Uuid(), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assignee"], ["users.id"], name=op.f("fk_surveillance_cases_assignee_users")),
        sa.ForeignKeyConstraint(
            ["close_requested_by"], ["users.id"], name=op.f("fk_surveillance_cases_close_requested_by_users")
        ),
        sa.ForeignKeyConstraint(["closed_by"], ["users.id"], name=op.f("fk_surveillance_cases_closed_by_users")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_surveillance_cases_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveillance_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_surveillance_cases_number")),
    )
    with op.batch_alter_table("surveillance_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveillance_cases_subject"), ["subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveillance_cases_status"), ["status"], unique=False)

    op.create_table(
        "surveillance_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("typology", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("top_features", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["surveillance_cases.id"], name=op.f("fk_surveillance_alerts_case_id_surveillance_cases")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_surveillance_alerts_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveillance_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_surveillance_alerts_key")),
    )
    with op.batch_alter_table("surveillance_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveillance_alerts_case_id"), ["case_id"], unique=False)

    op.create_table(
        "surveillance_case_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["surveillance_cases.id"], name=op.f("fk_surveillance_case_entries_case_id_surveillance_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveillance_case_entries")),
    )
    with op.batch_alter_table("surveillance_case_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveillance_case_entries_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("surveillance_case_entries")
    op.drop_table("surveillance_alerts")
    op.drop_table("surveillance_cases")
