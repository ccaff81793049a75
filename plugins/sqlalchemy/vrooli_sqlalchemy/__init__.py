"""vrooli-sqlalchemy: durable vrooli storage on SQLite and PostgreSQL, schema managed by alembic.

Importing this package (or its plugin module, as ``vrooli --help`` does through entry points) does not
import SQLAlchemy or alembic: they are imported when a store is opened.
"""

from vrooli_sqlalchemy.backend import SQLStorage
from vrooli_sqlalchemy.errors import SchemaVersionError

__version__ = "0.1.0"
__all__ = ["SQLStorage", "SchemaVersionError"]
