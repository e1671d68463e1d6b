"""GC orders settle on chain: gc_baskets, each order's signed fields, each fill's repo and collateral, credit limits,
and the matching service's instruction sequence

Revision ID: w2005
Revises: w2004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w2005"
down_revision: str | None = "w2004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gc_baskets",
        sa.Column("basket_id", sa.String(length=64), nullable=False),
        sa.Column("cash_token", sa.String(length=42), nullable=False),
        sa.Column("day_count_basis", sa.Integer(), nullable=False),
        sa.Column("min_transfer_amount", sa.String(length=80), nullable=False),
        sa.Column("margin_cure_period", sa.BigInteger(), nullable=False),
        sa.Column("grace_period", sa.BigInteger(), nullable=False),
        sa.Column("bonds", sa.JSON(), nullable=False),
        sa.Column("basket_hash", sa.String(length=66), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("basket_id", name=op.f("pk_gc_baskets")),
    )
    op.create_table(
        "gc_credit_limits",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("counterparty_id", sa.Uuid(), nullable=False),
        sa.Column("limit_units", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["counterparty_id"], ["organizations.id"], name=op.f("fk_gc_credit_limits_counterparty_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_gc_credit_limits_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("organization_id", "counterparty_id", name=op.f("pk_gc_credit_limits")),
    )
    op.create_table(
        "gc_sequence",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_gc_sequence")),
    )
    op.create_table(
        "gc_instructions",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["gc_orders.id"], name=op.f("fk_gc_instructions_order_id_gc_orders")),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_gc_instructions")),
    )
    with op.batch_alter_table("gc_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wallet_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("maker", sa.String(length=42), nullable=True))
        batch_op.add_column(sa.Column("order_hash", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("signed", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("deadline", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_gc_orders_order_hash"), ["order_hash"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_gc_orders_wallet_id_wallets"), "wallets", ["wallet_id"], ["id"])
    with op.batch_alter_table("gc_fills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="settling"))
        batch_op.add_column(sa.Column("settlement_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("repo_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("collateral_token", sa.String(length=42), nullable=True))
        batch_op.add_column(sa.Column("collateral_amount", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("failure", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_gc_fills_settlement_id"), ["settlement_id"], unique=False)
    with op.batch_alter_table("gc_fills", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("gc_fills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gc_fills_settlement_id"))
        for column in ("failure", "collateral_amount", "collateral_token", "repo_id", "settlement_id", "status"):
            batch_op.drop_column(column)
    with op.batch_alter_table("gc_orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_gc_orders_wallet_id_wallets"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_gc_orders_order_hash"))
        for column in ("deadline", "signature", "signed", "order_hash", "maker", "wallet_id"):
            batch_op.drop_column(column)
    op.drop_table("gc_instructions")
    op.drop_table("gc_sequence")
    op.drop_table("gc_credit_limits")
    op.drop_table("gc_baskets")
