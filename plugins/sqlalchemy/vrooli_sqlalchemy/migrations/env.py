"""alembic's environment for the vrooli tables. Migrations run through ``vrooli_sqlalchemy.migrate``,
which hands over a connection already inside the transaction (and lock) they run in; offline
(``--sql``) mode is not supported."""

from __future__ import annotations

from alembic import context
from vrooli_sqlalchemy.tables import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run vrooli-sqlalchemy migrations with vrooli_sqlalchemy.migrate (upgrade, downgrade, current)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite alters a table by copying it: later migrations use batch operations there.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
