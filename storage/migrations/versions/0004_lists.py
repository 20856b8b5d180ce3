"""Lists, their members and invitations; todos move from their owner to a list.

Every existing user gets an inbox (they own it) holding all their todos. Todos are keyed by
their id alone from now on (a todo keeps its id when it moves between lists); the rare todo
whose client-made id another user's todo also carries gets a fresh id, and its owner's devices
are sent a snapshot on their next connect (their ``pruned_seq`` passes what they hold).

Revision ID: 0004_lists
Revises: 0003_access_tokens
Create Date: 2026-12-01
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004_lists"
down_revision = "0003_access_tokens"
branch_labels = None
depends_on = None

INBOX_NAME = "Inbox"

_TODO_FIELDS = ("title", "description", "status", "priority", "due_at", "tags", "order",
                "created_at", "updated_at", "completed_at", "version")


def _todo_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("due_at", sa.String(24), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("order", sa.Float(), nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("updated_at", sa.String(24), nullable=False),
        sa.Column("completed_at", sa.String(24), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _create_list_tables() -> None:
    op.create_table(
        "lists",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("inbox", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("updated_at", sa.String(24), nullable=False),
    )
    op.create_index("ix_lists_owner_id", "lists", ["owner_id"])
    op.create_index("ux_lists_inbox", "lists", ["owner_id"], unique=True,
                    sqlite_where=sa.text("inbox"), postgresql_where=sa.text("inbox"))
    op.create_table(
        "list_members",
        sa.Column("list_id", sa.String(36), sa.ForeignKey("lists.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("joined_at", sa.String(24), nullable=False),
    )
    op.create_index("ix_list_members_user_id", "list_members", ["user_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("list_id", sa.String(36), sa.ForeignKey("lists.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("expires_at", sa.String(24), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.String(24), nullable=True),
    )
    op.create_index("ix_invitations_list_id", "invitations", ["list_id"])


def _make_inboxes(bind: sa.Connection) -> None:
    lists = sa.table("lists", *[sa.column(n) for n in (
        "id", "name", "inbox", "owner_id", "version", "created_at", "updated_at")])
    members = sa.table("list_members", *[sa.column(n) for n in (
        "list_id", "user_id", "role", "joined_at")])
    rows = bind.execute(sa.text("SELECT id, created_at FROM users ORDER BY id")).all()
    if not rows:
        return
    made = [(str(uuid.uuid4()), user_id, created_at) for user_id, created_at in rows]
    bind.execute(sa.insert(lists), [
        {"id": list_id, "name": INBOX_NAME, "inbox": True, "owner_id": user_id, "version": 1,
         "created_at": created_at, "updated_at": created_at}
        for list_id, user_id, created_at in made
    ])
    bind.execute(sa.insert(members), [
        {"list_id": list_id, "user_id": user_id, "role": "owner", "joined_at": created_at}
        for list_id, user_id, created_at in made
    ])


def _give_shared_ids_fresh_ones(bind: sa.Connection) -> None:
    """Todo ids were unique per user only: keep the oldest holder of each id, re-id the
    others, and make their owners' devices take a snapshot."""
    shared = bind.execute(sa.text(
        "SELECT id FROM todos GROUP BY id HAVING COUNT(*) > 1"
    )).scalars().all()
    touched: set[str] = set()
    for todo_id in shared:
        holders = bind.execute(sa.text(
            "SELECT user_id FROM todos WHERE id = :id ORDER BY created_at, user_id"
        ), {"id": todo_id}).scalars().all()
        for user_id in holders[1:]:
            bind.execute(sa.text(
                "UPDATE todos SET id = :new WHERE user_id = :user AND id = :id"
            ), {"new": str(uuid.uuid4()), "user": user_id, "id": todo_id})
            touched.add(user_id)
    for user_id in sorted(touched):
        bind.execute(sa.text(
            "UPDATE users SET seq = seq + 1, pruned_seq = seq + 1 WHERE id = :user"
        ), {"user": user_id})


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    _create_list_tables()
    _make_inboxes(bind)
    _give_shared_ids_fresh_ones(bind)

    op.drop_index("ix_todos_user_order", table_name="todos")
    op.rename_table("todos", "todos_old")
    if postgres:
        op.execute("ALTER TABLE todos_old RENAME CONSTRAINT todos_pkey TO todos_old_pkey")
    op.create_table(
        "todos",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("list_id", sa.String(36), sa.ForeignKey("lists.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("assignee", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"),
                  nullable=True),
        *_todo_columns(),
    )
    fields = ", ".join(f't."{name}"' for name in _TODO_FIELDS)
    names = ", ".join(f'"{name}"' for name in _TODO_FIELDS)
    op.execute(
        f"INSERT INTO todos (id, list_id, assignee, {names}) "
        f"SELECT t.id, l.id, NULL, {fields} FROM todos_old t "
        "JOIN lists l ON l.owner_id = t.user_id AND l.inbox"
    )
    op.drop_table("todos_old")
    op.create_index("ix_todos_list_order", "todos", ["list_id", "order"])
    if postgres:  # SQLite does not enforce the length (and cannot alter a column in place)
        op.alter_column("changes", "op", type_=sa.String(16), existing_nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.drop_index("ix_todos_list_order", table_name="todos")
    op.rename_table("todos", "todos_new")
    if postgres:
        op.execute("ALTER TABLE todos_new RENAME CONSTRAINT todos_pkey TO todos_new_pkey")
    op.create_table(
        "todos",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("id", sa.String(36), primary_key=True),
        *_todo_columns(),
    )
    fields = ", ".join(f't."{name}"' for name in _TODO_FIELDS)
    names = ", ".join(f'"{name}"' for name in _TODO_FIELDS)
    # Each todo goes back to the owner of its list.
    op.execute(
        f"INSERT INTO todos (user_id, id, {names}) "
        f"SELECT l.owner_id, t.id, {fields} FROM todos_new t JOIN lists l ON l.id = t.list_id"
    )
    op.drop_table("todos_new")
    op.create_index("ix_todos_user_order", "todos", ["user_id", "order"])
    for table in ("invitations", "list_members", "lists"):
        op.drop_table(table)
