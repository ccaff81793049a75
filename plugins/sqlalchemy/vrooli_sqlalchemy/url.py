"""Store URLs: what ``sqlite:///…`` and ``postgresql://…`` mean, checked before anything connects.

Parsed without SQLAlchemy, so a bad URL is reported at once and cheaply. The options of the store
itself are query parameters, and removed before the URL reaches the driver:

- both: ``migrate=0`` opens the database only if its schema is already at the code's revision
  (default ``1``: upgrade it on open);
- SQLite: ``synchronous=FULL|NORMAL`` (default ``FULL``: a commit that returned survives a power
  cut; ``NORMAL`` survives a crash of the process, not of the machine), ``busy_timeout=MS``
  (default 5000: how long to wait for another process's write);
- PostgreSQL: ``schema=NAME`` keeps the tables in that schema (created if missing); every other
  parameter (``sslmode``, ``connect_timeout``, ``application_name``, …) goes to libpq.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import attrs

from vrooli_core.errors import ConfigError

__all__ = ["SCHEMES", "StoreURL", "parse_url"]

SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")


@attrs.frozen
class StoreURL:
    """A parsed store URL. ``driver_url`` is what SQLAlchemy connects to (with the password);
    ``display`` is safe to show (password hidden)."""

    dialect: Literal["sqlite", "postgresql"]
    driver_url: str
    display: str
    migrate: bool = True
    #: SQLite: the database file (absolute).
    path: Path | None = None
    synchronous: str = "FULL"
    busy_timeout: int = 5000
    #: PostgreSQL: the schema holding the tables (``None``: the connection's default, ``public``).
    schema: str | None = None


def parse_url(url: str) -> StoreURL:
    """Parse and check a store URL; raise ``ConfigError`` naming what is wrong (password hidden)."""
    scheme = url.split(":", 1)[0]
    if scheme not in SCHEMES or not url.startswith(scheme + "://"):
        raise ConfigError(f"{_redact(url)}: {_scheme_problem(url, scheme)}")
    if scheme == "sqlite":
        return _sqlite(url)
    return _postgresql(url)


def _scheme_problem(url: str, scheme: str) -> str:
    base, _, driver = scheme.partition("+")
    if base in ("sqlite", "postgresql") and driver:
        if base == "sqlite":
            return f"the driver {driver!r} is not supported: this store connects with Python's sqlite3 (sqlite:///…)"
        return f"the driver {driver!r} is not supported: this store connects with psycopg 3 (postgresql://… or postgresql+psycopg://…)"
    if scheme in ("postgres", "pgsql"):
        return "write postgresql://… (the scheme SQLAlchemy knows)"
    if scheme in SCHEMES:
        return f"a {scheme} URL starts with {scheme}://"
    return f"not a SQL store URL (schemes: {', '.join(SCHEMES)})"


def _sqlite(url: str) -> StoreURL:
    rest, _, query = url[len("sqlite://") :].partition("?")
    if not rest.startswith("/"):
        raise ConfigError(f"{url}: a SQLite URL names a file: sqlite:///relative.db or sqlite:////absolute.db")
    raw = rest[1:]
    if raw in ("", ":memory:") or raw.startswith("file:"):
        raise ConfigError(f"{url}: a SQLite store is a file (use memory:// for a store that is not kept)")
    options = _options(url, query, allowed=("migrate", "synchronous", "busy_timeout"))
    synchronous = options.pop("synchronous", "FULL").upper()
    if synchronous not in _SYNCHRONOUS:
        raise ConfigError(f"{url}: synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}")
    timeout = options.pop("busy_timeout", "5000")
    if not timeout.isdigit():
        raise ConfigError(f"{url}: busy_timeout is a number of milliseconds, not {timeout!r}")
    # Resolved now, so a later change of the working directory does not move the store.
    path = Path(raw).expanduser().resolve()
    return StoreURL(
        "sqlite",
        driver_url="sqlite:///" + str(path),
        display=url,
        migrate=_flag(url, options.pop("migrate", "1")),
        path=path,
        synchronous=synchronous,
        busy_timeout=int(timeout),
    )


def _postgresql(url: str) -> StoreURL:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"{_redact(url)}: not a valid URL ({exc})") from None
    if not parts.hostname and "host" not in dict(parse_qsl(parts.query)):
        raise ConfigError(f"{_redact(url)}: a PostgreSQL URL names a server: postgresql://user@host:5432/database")
    if not parts.path.strip("/"):
        raise ConfigError(f"{_redact(url)}: a PostgreSQL URL names a database: postgresql://user@host:5432/database")
    options = _options(url, parts.query, allowed=None)
    migrate = _flag(url, options.pop("migrate", "1"))
    schema = options.pop("schema", None)
    if schema is not None and not _IDENTIFIER.match(schema):
        raise ConfigError(f"{_redact(url)}: schema must be a plain identifier (letters, digits, _), not {schema!r}")
    query = urlencode(options, quote_via=quote)
    libpq_url = f"postgresql://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
    _check_libpq(url, libpq_url)
    driver_url = "postgresql+psycopg" + libpq_url[len("postgresql") :]
    return StoreURL("postgresql", driver_url=driver_url, display=_redact(url), migrate=migrate, schema=schema)


def _check_libpq(url: str, libpq_url: str) -> None:
    """The driver is installed and libpq knows every parameter (a misspelt ``sslmode`` would
    otherwise be reported only by the server connection, as "invalid URI query parameter")."""
    try:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise ConfigError(
            f"{_redact(url)}: PostgreSQL needs psycopg 3: pip install 'vrooli-sqlalchemy[postgresql]'"
        ) from None
    try:
        conninfo_to_dict(libpq_url)
    except ProgrammingError as exc:
        raise ConfigError(f"{_redact(url)}: {str(exc).strip()}") from None


def _options(url: str, query: str, *, allowed: tuple[str, ...] | None) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    options = dict(pairs)
    if len(options) != len(pairs):
        raise ConfigError(f"{_redact(url)}: a query parameter is given twice")
    unknown = sorted(set(options) - set(allowed)) if allowed is not None else []
    if unknown:
        raise ConfigError(f"{_redact(url)}: unknown option(s) {', '.join(unknown)} (known: {', '.join(allowed or ())})")
    return options


def _flag(url: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"{_redact(url)}: migrate must be 1 or 0, not {value!r}")


def _redact(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) shown as ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parseable as a URL: show nothing of it that may be secret
        return url.split("://", 1)[0] + "://…"
    netloc = parts.netloc if password is None else parts.netloc.replace(":" + password + "@", ":***@", 1)
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query, flags=re.IGNORECASE)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return parts._replace(netloc=netloc, query=query).geturl()
