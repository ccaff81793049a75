"""The first schema: routines, runs and their labels, the event log, snapshots, waits, documents,
leases.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A migration keeps its own copy of every definition: the models in tables.py move on, this does not.
POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _position() -> sa.Column[int]:
    return sa.Column("position", POSITION, autoincrement=True, nullable=False)


def _run_id() -> sa.Column[str]:
    return sa.Column("run_id", sa.Text, nullable=False)


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["run_id"], ["vrooli_runs.id"], name=f"fk_{table}_run_id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "vrooli_routines",
        _position(),
        sa.Column("routine_id", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("routine", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_vrooli_routines"),
        sa.UniqueConstraint("routine_id", "version", name="uq_vrooli_routines_routine_id_version"),
    )
    op.create_table(
        "vrooli_runs",
        _position(),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("routine_id", sa.Text, nullable=False),
        sa.Column("routine_version", sa.Text, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("parent_run_id", sa.Text, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("steps", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Double, nullable=False),
        sa.Column("credits", sa.Double, nullable=False),
        sa.Column("wall_time", sa.Double, nullable=False),
        sa.Column("model_calls", sa.Integer, nullable=False),
        sa.Column("limits", sa.Text, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_vrooli_runs"),
        sa.UniqueConstraint("id", name="uq_vrooli_runs_id"),
    )
    op.create_index("ix_vrooli_runs_routine_id", "vrooli_runs", ["routine_id"])
    op.create_index("ix_vrooli_runs_status", "vrooli_runs", ["status"])
    op.create_index("ix_vrooli_runs_parent_run_id", "vrooli_runs", ["parent_run_id"])
    op.create_index("ix_vrooli_runs_created_at_position", "vrooli_runs", ["created_at", "position"])
    op.create_table(
        "vrooli_run_labels",
        _run_id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "name", name="pk_vrooli_run_labels"),
        _run_fk("vrooli_run_labels"),
    )
    op.create_index("ix_vrooli_run_labels_name_value", "vrooli_run_labels", ["name", "value"])
    op.create_table(
        "vrooli_events",
        _run_id(),
        sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_vrooli_events"),
        _run_fk("vrooli_events"),
    )
    op.create_table(
        "vrooli_snapshots",
        _run_id(),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_vrooli_snapshots"),
        _run_fk("vrooli_snapshots"),
    )
    op.create_table(
        "vrooli_waits",
        _position(),
        sa.Column("id", sa.Text, nullable=False),
        _run_id(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("correlation", sa.Text, nullable=True),
        sa.Column("due", sa.Double, nullable=True),
        sa.Column("wait", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_vrooli_waits"),
        sa.UniqueConstraint("id", name="uq_vrooli_waits_id"),
        _run_fk("vrooli_waits"),
    )
    op.create_index("ix_vrooli_waits_run_id", "vrooli_waits", ["run_id"])
    op.create_index("ix_vrooli_waits_due", "vrooli_waits", ["due"])
    op.create_index("ix_vrooli_waits_kind_name_correlation", "vrooli_waits", ["kind", "name", "correlation"])
    op.create_table(
        "vrooli_docs",
        _position(),
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_vrooli_docs"),
        sa.UniqueConstraint("collection", "id", name="uq_vrooli_docs_collection_id"),
    )
    op.create_table(
        "vrooli_leases",
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("until", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_vrooli_leases"),
    )


def downgrade() -> None:
    op.drop_table("vrooli_leases")
    for table in (
        "vrooli_docs",
        "vrooli_waits",
        "vrooli_snapshots",
        "vrooli_events",
        "vrooli_run_labels",
        "vrooli_runs",
    ):
        op.drop_table(table)
    op.drop_table("vrooli_routines")
