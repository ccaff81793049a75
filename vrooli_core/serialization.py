"""The one cattrs converter. Plugins extend it through the ``vrooli_configure_converter`` hook."""

from __future__ import annotations

import json
from typing import Any

import cattrs

from vrooli_core.model.events import EVENT_TYPES, Event, UnknownEvent

__all__ = ["dumps", "loads", "make_converter", "transform_error"]

transform_error = cattrs.transform_error


def make_converter() -> cattrs.Converter:
    """A converter that turns every model type into JSON-compatible data and back.

    Events are written as ``{"run_id", "seq", "at", "type", "data"}``; ``type`` selects the payload
    class from :data:`vrooli_core.model.events.EVENT_TYPES`, and an unregistered type becomes an
    :class:`UnknownEvent` instead of an error, so history written by a removed plugin stays readable.
    """
    conv = cattrs.Converter(omit_if_default=True)

    def unstructure_event(ev: Event) -> dict[str, Any]:
        payload = ev.payload
        data = payload.data if isinstance(payload, UnknownEvent) else conv.unstructure(payload)
        return {"run_id": ev.run_id, "seq": ev.seq, "at": ev.at, "type": payload.type, "data": data}

    def structure_event(obj: dict[str, Any], _: type) -> Event:
        cls = EVENT_TYPES.get(obj["type"])
        data = obj.get("data") or {}
        payload = UnknownEvent(obj["type"], data) if cls is None else conv.structure(data, cls)
        return Event(run_id=obj["run_id"], seq=obj["seq"], at=obj["at"], payload=payload)

    conv.register_unstructure_hook(Event, unstructure_event)
    conv.register_structure_hook(Event, structure_event)
    return conv


def dumps(conv: cattrs.Converter, obj: Any, cls: type | None = None) -> str:
    """Serialise a model object to compact JSON."""
    return json.dumps(conv.unstructure(obj, unstructure_as=cls), separators=(",", ":"), default=_default)


def loads(conv: cattrs.Converter, text: str | bytes, cls: type) -> Any:
    return conv.structure(json.loads(text), cls)


def _default(obj: Any) -> Any:
    # Variables may hold tuples, sets or attrs values written by tools; JSON has lists and objects.
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable: {obj!r}")
