"""settlements by organization: an index for the settlement list's visibility lookup

Revision ID: 2503
Revises: 2502
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "2503"
down_revision: str | None = "2502"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_settlements_organization_id"), "settlements", ["organization_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_settlements_organization_id"), table_name="settlements")
