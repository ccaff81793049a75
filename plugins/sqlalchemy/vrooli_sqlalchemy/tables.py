"""The tables, as SQLAlchemy Core metadata. The migrations create exactly this (a test compares them).

Records are stored as compact JSON text written by the engine's cattrs converter: the same text on
every database, read back exactly (PostgreSQL users can query it with ``::jsonb``). Columns beside
the JSON exist to filter and order by. Every table has an integer ``position`` that only grows, so
"oldest first" and "ties by creation order" are an index scan, and replacing a row keeps its place.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "VERSION_TABLE",
    "docs",
    "events",
    "leases",
    "metadata",
    "routines",
    "run_labels",
    "runs",
    "snapshots",
    "waits",
]

#: alembic's bookkeeping table (named so it never meets an application's own ``alembic_version``).
VERSION_TABLE = "vrooli_alembic_version"

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" is the auto-numbered rowid.
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.Text
# PostgreSQL stores TEXT like VARCHAR; an id has no length limit on either database.
Key = sa.Text

routines = sa.Table(
    "vrooli_routines",
    metadata,
    sa.Column("position", Position, primary_key=True, autoincrement=True),
    sa.Column("routine_id", Key, nullable=False),
    sa.Column("version", Key, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("routine", Json, nullable=False),  # RoutineDef
    sa.UniqueConstraint("routine_id", "version"),
)

runs = sa.Table(
    "vrooli_runs",
    metadata,
    sa.Column("position", Position, primary_key=True, autoincrement=True),
    sa.Column("id", Key, nullable=False, unique=True),
    sa.Column("routine_id", Key, nullable=False, index=True),
    sa.Column("routine_version", Key, nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("parent_run_id", Key, nullable=True, index=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("steps", sa.Integer, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost", sa.Double, nullable=False),
    sa.Column("credits", sa.Double, nullable=False),
    sa.Column("wall_time", sa.Double, nullable=False),
    sa.Column("model_calls", sa.Integer, nullable=False),
    sa.Column("limits", Json, nullable=False),  # Limits
    sa.Column("labels", Json, nullable=False),  # {name: value}, also in vrooli_run_labels
    sa.Column("record", Json, nullable=False),  # the Run
    sa.Index(None, "created_at", "position"),
)

# One row per label of a run: "runs labelled team=ops" is an index lookup on every database.
run_labels = sa.Table(
    "vrooli_run_labels",
    metadata,
    sa.Column("run_id", Key, sa.ForeignKey(runs.c.id, ondelete="CASCADE"), primary_key=True),
    sa.Column("name", Key, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index(None, "name", "value"),
)

# The append-only log. The primary key is the (run_id, seq) uniqueness that turns a second append
# of a sequence number (two engines on one run) into DuplicateEventError.
events = sa.Table(
    "vrooli_events",
    metadata,
    sa.Column("run_id", Key, sa.ForeignKey(runs.c.id, ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("data", Json, nullable=False),  # the payload
)

snapshots = sa.Table(
    "vrooli_snapshots",
    metadata,
    sa.Column("run_id", Key, sa.ForeignKey(runs.c.id, ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("state", Json, nullable=False),
)

waits = sa.Table(
    "vrooli_waits",
    metadata,
    sa.Column("position", Position, primary_key=True, autoincrement=True),
    sa.Column("id", Key, nullable=False, unique=True),
    sa.Column("run_id", Key, sa.ForeignKey(runs.c.id, ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("correlation", sa.Text, nullable=True),
    sa.Column("due", sa.Double, nullable=True, index=True),
    sa.Column("wait", Json, nullable=False),  # the Wait
    sa.Index(None, "kind", "name", "correlation"),
)

docs = sa.Table(
    "vrooli_docs",
    metadata,
    sa.Column("position", Position, primary_key=True, autoincrement=True),
    sa.Column("collection", Key, nullable=False),
    sa.Column("id", Key, nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.UniqueConstraint("collection", "id"),
)

# Which engine moves a run: one row per leased run. No foreign key: a run is leased before it exists.
leases = sa.Table(
    "vrooli_leases",
    metadata,
    sa.Column("run_id", Key, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("until", sa.Double, nullable=False),
)
