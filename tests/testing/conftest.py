"""The test kit's own tests use the fixtures of the opt-in pytest plugin (``pytest_plugins`` is only
allowed in the root conftest, so the fixtures are imported here; ``test_pytest_plugin.py`` checks the
plugin itself with ``-p``)."""

from vrooli_core.testing.pytest_plugin import (  # noqa: F401
    anyio_backend,
    fake_clock,
    memory_store_url,
    registered_plugin,
    vrooli_host,
)
