"""terms nonces: each wallet's next EIP-712 terms nonce, given out in sequence (one bitmap word of the engine's
for 256 opens instead of one each)

Revision ID: 6101
Revises: 5801
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6101"
down_revision: str | None = "5801"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "terms_nonces",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_terms_nonces")),
    )


def downgrade() -> None:
    op.drop_table("terms_nonces")
