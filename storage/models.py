"""The schema: users (with their change counter), lists with their members and invitations,
todos, the change log, operations, sessions.

Times are stored as fixed-width UTC text (``2026-11-23T08:00:00.000Z``) so that they sort
correctly as text on every database and go to the wire unchanged.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # Highest seq removed from the change log: a device behind it needs a snapshot.
    pruned_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[str] = mapped_column(String(24))


class TodoList(Base):
    """A list of todos; its members see and (by role) change it. Each user has one inbox."""

    __tablename__ = "lists"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    inbox: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[str] = mapped_column(String(24))
    updated_at: Mapped[str] = mapped_column(String(24))

    __table_args__ = (
        # Exactly one inbox per user.
        Index("ux_lists_inbox", "owner_id", unique=True,
              sqlite_where=text("inbox"), postgresql_where=text("inbox")),
    )


class ListMember(Base):
    """A user's membership of a list and their role: owner, editor or viewer."""

    __tablename__ = "list_members"

    list_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(8))
    joined_at: Mapped[str] = mapped_column(String(24))


class Invitation(Base):
    """An invitation to a list; only the SHA-256 of its token is kept."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    list_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("lists.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE")
    )
    created_at: Mapped[str] = mapped_column(String(24))
    expires_at: Mapped[str] = mapped_column(String(24))
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[str | None] = mapped_column(String(24), nullable=True)


class Todo(Base):
    """A todo. Its id is unique across the hub (it keeps it when moved between lists); its
    scope is its list, and access to it is membership of that list."""

    __tablename__ = "todos"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    list_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("lists.id", ondelete="CASCADE")
    )
    assignee: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[str | None] = mapped_column(String(24), nullable=True)
    tags: Mapped[str] = mapped_column(Text, default="[]")
    order: Mapped[float] = mapped_column("order", Float, default=0.0)
    created_at: Mapped[str] = mapped_column(String(24))
    updated_at: Mapped[str] = mapped_column(String(24))
    completed_at: Mapped[str | None] = mapped_column(String(24), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_todos_list_order", "list_id", "order"),)


class Change(Base):
    __tablename__ = "changes"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    op: Mapped[str] = mapped_column(String(16))
    # The todo's id, or the list's for list and list_removed changes.
    todo_id: Mapped[str] = mapped_column(String(36))
    # The complete change frame as sent on the wire, encoded once at write time.
    frame: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(24))

    __table_args__ = (Index("ix_changes_user_at", "user_id", "at"),)


class Operation(Base):
    __tablename__ = "operations"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    op_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The answer the operation produced (JSON), returned again for a retry.
    answer: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(24))
    # What the request was (a hash), for a REST Idempotency-Key: the same key with another
    # request is refused. None for socket commands.
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuthSession(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[str] = mapped_column(String(24))
    revoked_at: Mapped[str | None] = mapped_column(String(24), nullable=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[str] = mapped_column(String(24))
    expires_at: Mapped[str] = mapped_column(String(24))
    used_at: Mapped[str | None] = mapped_column(String(24), nullable=True)


class AccessToken(Base):
    """A personal access token for scripts; only the SHA-256 of its secret is kept."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(24))
    expires_at: Mapped[str | None] = mapped_column(String(24), nullable=True)
    last_used_at: Mapped[str | None] = mapped_column(String(24), nullable=True)


users = cast(Table, User.__table__)
todos = cast(Table, Todo.__table__)
lists = cast(Table, TodoList.__table__)
list_members = cast(Table, ListMember.__table__)
invitations = cast(Table, Invitation.__table__)
changes = cast(Table, Change.__table__)
operations = cast(Table, Operation.__table__)
sessions = cast(Table, AuthSession.__table__)
refresh_tokens = cast(Table, RefreshToken.__table__)
access_tokens = cast(Table, AccessToken.__table__)
