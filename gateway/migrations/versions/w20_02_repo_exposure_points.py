"""risk_repo_exposure_points: the holder's exposure on each repo over time, for the repo's chart

Revision ID: w2002
Revises: w2001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w2002"
down_revision: str | None = "w2001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_repo_exposure_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("repo_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("exposure_units", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_risk_repo_exposure_points_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_repo_exposure_points")),
        sa.UniqueConstraint("organization_id", "repo_id", "bucket", name="uq_risk_repo_exposure_points"),
    )
    with op.batch_alter_table("risk_repo_exposure_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_repo_exposure_points_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_risk_repo_exposure_points_repo_id"), ["repo_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_repo_exposure_points_bucket"), ["bucket"], unique=False)


def downgrade() -> None:
    op.drop_table("risk_repo_exposure_points")
