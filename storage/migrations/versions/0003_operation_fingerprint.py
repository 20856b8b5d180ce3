"""Operations remember a fingerprint of the REST request that used their id, so that an
Idempotency-Key reused with a different request can be refused.

Revision ID: 0003_operation_fingerprint
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_operation_fingerprint"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operations", sa.Column("fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("fingerprint")
