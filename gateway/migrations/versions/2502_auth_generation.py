"""auth generation: a counter that triggers raise on every credential change (cached credential lookups)

Revision ID: 2502
Revises: 3701
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2502"
down_revision: str | None = "3701"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns whose change can end or narrow a credential; a deleted row ends it too.
WATCHED = {
    "auth_sessions": ("user_id", "mfa_at", "revoked_at"),
    "users": ("organization_id", "role", "is_active"),
    "api_clients": ("organization_id", "kind", "secret_hash", "scopes", "ip_allowlist", "expires_at", "revoked_at"),
    "organizations": ("is_operator",),
}
BUMP = "UPDATE auth_generation SET value = value + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "auth_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_generation")),
    )
    op.execute("INSERT INTO auth_generation (id, value) VALUES (1, 0)")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            "CREATE FUNCTION auth_generation_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
    for table, columns in WATCHED.items():
        for event in (f"UPDATE OF {', '.join(columns)}", "DELETE"):
            name = f"auth_generation_{table}_{event.split()[0].lower()}"
            if postgres:
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION auth_generation_bump()"
                )
            else:
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        for event in ("update", "delete"):
            name = f"auth_generation_{table}_{event}"
            op.execute(f"DROP TRIGGER {name} ON {table}" if postgres else f"DROP TRIGGER {name}")
    if postgres:
        op.execute("DROP FUNCTION auth_generation_bump()")
    op.drop_table("auth_generation")
