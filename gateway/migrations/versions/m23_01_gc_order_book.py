"""GC order book: gc_orders (each order as signed, its status and filled amount, its time priority) and gc_fills

Revision ID: m2301
Revises: r1801
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "m2301"
down_revision: str | None = "r1801"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gc_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("client_order_id", sa.String(length=80), nullable=False),
        sa.Column("basket_id", sa.String(length=64), nullable=False),
        sa.Column("tenor", sa.String(length=8), nullable=False),
        sa.Column("forward_start_days", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("tif", sa.String(length=8), nullable=False),
        sa.Column("rate", sa.String(length=80), nullable=False),
        sa.Column("size_units", sa.String(length=80), nullable=False),
        sa.Column("min_fill_units", sa.String(length=80), nullable=False),
        sa.Column("filled_units", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancel_reason", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_gc_orders_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gc_orders")),
        sa.UniqueConstraint("organization_id", "client_order_id", name=op.f("uq_gc_orders_organization_id")),
    )
    op.create_index(op.f("ix_gc_orders_organization_id"), "gc_orders", ["organization_id"])
    op.create_index(op.f("ix_gc_orders_status"), "gc_orders", ["status"])
    op.create_table(
        "gc_fills",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("lend_order_id", sa.Uuid(), nullable=False),
        sa.Column("borrow_order_id", sa.Uuid(), nullable=False),
        sa.Column("basket_id", sa.String(length=64), nullable=False),
        sa.Column("tenor", sa.String(length=8), nullable=False),
        sa.Column("forward_start_days", sa.Integer(), nullable=False),
        sa.Column("rate", sa.String(length=80), nullable=False),
        sa.Column("amount_units", sa.String(length=80), nullable=False),
        sa.Column("aggressor", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lend_order_id"], ["gc_orders.id"], name=op.f("fk_gc_fills_lend_order_id_gc_orders")),
        sa.ForeignKeyConstraint(
            ["borrow_order_id"], ["gc_orders.id"], name=op.f("fk_gc_fills_borrow_order_id_gc_orders")
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_gc_fills")),
    )
    op.create_index(op.f("ix_gc_fills_lend_order_id"), "gc_fills", ["lend_order_id"])
    op.create_index(op.f("ix_gc_fills_borrow_order_id"), "gc_fills", ["borrow_order_id"])


def downgrade() -> None:
    op.drop_table("gc_fills")
    op.drop_table("gc_orders")
