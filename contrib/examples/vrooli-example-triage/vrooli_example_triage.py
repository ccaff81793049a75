"""A one-file vrooli plugin: the ``lookup_customer`` tool of the support-ticket triage example
(``contrib/examples/routines/triage.bpmn``).

Installed, it is found through its entry point (group ``vrooli``, name ``example-triage``). The
customers live in a small table in this module, so the example needs no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vrooli_core import tool
from vrooli_core.plugins import hookimpl

__all__ = ["CUSTOMERS", "UnknownCustomerError", "lookup_customer", "vrooli_register_tools"]

#: The example's customers, by id.
CUSTOMERS: Mapping[str, Mapping[str, str]] = {
    "c-1": {"id": "c-1", "name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"},
    "c-2": {"id": "c-2", "name": "Alan Turing", "email": "alan@example.com", "plan": "free"},
    "c-3": {"id": "c-3", "name": "Grace Hopper", "email": "grace@example.com", "plan": "enterprise"},
}


class UnknownCustomerError(LookupError):
    """No customer has the id. ``code`` is the error code of the failed step."""

    code = "unknown_customer"


@tool
def lookup_customer(customer_id: str) -> dict[str, str]:
    """The customer with this id: ``id``, ``name``, ``email`` and ``plan``."""
    customer = CUSTOMERS.get(customer_id.strip())
    if customer is None:
        known = ", ".join(sorted(CUSTOMERS))
        raise UnknownCustomerError(f"no customer has the id {customer_id!r} (known ids: {known})")
    return dict(customer)


@hookimpl
def vrooli_register_tools() -> Iterable[Any]:
    return [lookup_customer]
