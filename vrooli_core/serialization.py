"""The one cattrs converter. Plugins extend it through the ``vrooli_configure_converter`` hook."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from vrooli_core.model.empty import EMPTY
from vrooli_core.model.events import EVENT_TYPES, Event, StepCompleted, UnknownEvent, WaitResolved
from vrooli_core.model.tokens import NewToken

__all__ = ["dumps", "loads", "make_converter", "transform_error"]

transform_error = cattrs.transform_error


def make_converter() -> cattrs.Converter:
    """A converter that turns every model type into JSON-compatible data and back.

    Events are written as ``{"run_id", "seq", "at", "type", "data"}``; ``type`` selects the payload
    class from :data:`vrooli_core.model.events.EVENT_TYPES`, and an unregistered type becomes an
    :class:`UnknownEvent` instead of an error, so history written by a removed plugin stays readable.
    Fields at their default are left out, and two forms keep a step's stored events short (both
    read back as the full values, and the longer forms written before them stay readable):

    - a token a decision creates with nothing but a location is written as the location;
    - a step whose output is exactly what it wrote to variables (the same object: the engine's
      ``writes`` for an output mapping it writes as is) has it written once, as ``"output"`` in
      place of ``outcome.output`` and ``writes``.
    """
    conv = cattrs.Converter(omit_if_default=True)
    _new_tokens_by_location(conv)
    for cls in (StepCompleted, WaitResolved):
        _output_written_once(conv, cls)

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


def _new_tokens_by_location(conv: cattrs.Converter) -> None:
    unstructure = conv.get_unstructure_hook(NewToken)
    structure = conv.get_structure_hook(NewToken)

    def unstructure_new_token(token: NewToken) -> Any:
        data = unstructure(token)
        return token.location if len(data) == 1 else data

    def structure_new_token(obj: Any, cls: type) -> NewToken:
        return NewToken(obj) if isinstance(obj, str) else structure(obj, cls)

    conv.register_unstructure_hook(NewToken, unstructure_new_token)
    conv.register_structure_hook(NewToken, structure_new_token)


def _output_written_once(conv: cattrs.Converter, cls: type[StepCompleted | WaitResolved]) -> None:
    unstructure = conv.get_unstructure_hook(cls)
    structure = conv.get_structure_hook(cls)

    def unstructure_payload(payload: StepCompleted | WaitResolved) -> dict[str, Any]:
        written = payload.writes
        if not written or written is not payload.outcome.output:
            data: dict[str, Any] = unstructure(payload)
            return data
        data = unstructure(attrs.evolve(payload, outcome=attrs.evolve(payload.outcome, output=None), writes=EMPTY))
        data["output"] = conv.unstructure(written, unstructure_as=dict[str, Any])
        return data

    def structure_payload(obj: Mapping[str, Any], _: type) -> StepCompleted | WaitResolved:
        if "output" not in obj:
            plain: StepCompleted | WaitResolved = structure(obj, cls)
            return plain
        data = dict(obj)
        data["writes"] = data.pop("output")
        payload: StepCompleted | WaitResolved = structure(data, cls)
        return attrs.evolve(payload, outcome=attrs.evolve(payload.outcome, output=payload.writes))

    conv.register_unstructure_hook(cls, unstructure_payload)
    conv.register_structure_hook(cls, structure_payload)


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
