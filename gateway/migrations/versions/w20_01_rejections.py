"""rejections: an approver's no to a trade or instruction, with its reason

Revision ID: w2001
Revises: i1601
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w2001"
down_revision: str | None = "i1601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rejections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_rejections_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_rejections_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejections")),
        sa.UniqueConstraint("subject", "subject_id", name=op.f("uq_rejections_subject")),
    )
    op.create_index(op.f("ix_rejections_subject_id"), "rejections", ["subject_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rejections_subject_id"), table_name="rejections")
    op.drop_table("rejections")
