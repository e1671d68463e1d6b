"""risk messages (exposure, stress and notices for every worker's stream and webhooks), exposure history, and the
agreements' eligible collateral schedule

Revision ID: 5701
Revises: 5501

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5701"
down_revision: str | None = "5501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risk_agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eligible", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))

    op.create_table(
        "risk_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_risk_messages_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_messages")),
    )
    with op.batch_alter_table("risk_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_messages_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_messages_created_at"), ["created_at"], unique=False)

    op.create_table(
        "risk_exposure_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("counterparty_id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("net_units", sa.String(length=80), nullable=False),
        sa.Column("repos", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_risk_exposure_points_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_exposure_points")),
        sa.UniqueConstraint("organization_id", "counterparty_id", "bucket", name="uq_risk_exposure_points_bucket"),
    )
    with op.batch_alter_table("risk_exposure_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_exposure_points_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_exposure_points_bucket"), ["bucket"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_exposure_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_exposure_points_bucket"))
        batch_op.drop_index(batch_op.f("ix_risk_exposure_points_organization_id"))

    op.drop_table("risk_exposure_points")
    with op.batch_alter_table("risk_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_messages_created_at"))
        batch_op.drop_index(batch_op.f("ix_risk_messages_organization_id"))

    op.drop_table("risk_messages")
    with op.batch_alter_table("risk_agreements", schema=None) as batch_op:
        batch_op.drop_column("eligible")
