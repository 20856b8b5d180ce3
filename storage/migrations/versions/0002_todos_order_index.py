"""Index todos by owner and manual order: a create without an order reads the user's top
order, and lists sort by it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_todos_user_order", "todos", ["user_id", "order"])


def downgrade() -> None:
    op.drop_index("ix_todos_user_order", table_name="todos")
