"""Where runs are kept when nobody says: a SQLite file in the user's data directory when a backend
for ``sqlite://`` is installed (vrooli-sqlalchemy), else an in-memory store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vrooli_core.plugins import PluginHost

#: Overrides the directory of the default store (tests, containers).
HOME_VARIABLE = "VROOLI_HOME"


def data_dir() -> Path:
    """``$VROOLI_HOME``, else the platform's user data directory for vrooli (``~/.local/share/vrooli``
    on Linux, honouring ``XDG_DATA_HOME``)."""
    home = os.environ.get(HOME_VARIABLE)
    if home:
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_data_dir("vrooli", appauthor=False))


def default_store_url(host: PluginHost) -> str:
    """``sqlite:///<data dir>/vrooli.db`` when a backend opens ``sqlite`` URLs, else ``memory://``."""
    if any("sqlite" in backend.schemes for backend in host.storage_backends().values()):
        directory = data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / 'vrooli.db'}"
    return "memory://"
