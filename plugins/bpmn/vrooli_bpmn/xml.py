"""Reading BPMN XML safely: no DTDs, no entities, no network, bounded size."""

from __future__ import annotations

import re
from typing import Any

from vrooli_core.errors import RoutineError
from vrooli_core.model import RoutineSource

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
VROOLI = "https://vrooli.com/schema/bpmn/1.0"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"

#: Larger files are refused before parsing (a process of 100,000 nodes is about 30 MB).
MAX_BYTES = 64 * 1024 * 1024

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)


def source_bytes(source: RoutineSource) -> bytes:
    """The file's bytes: the engine decodes UTF-8, or latin-1 byte for byte; re-encode to what the
    XML declaration says so lxml decodes exactly what was written."""
    text = source.text
    head = text[:200].encode("latin-1", "replace")
    match = _DECLARED.match(head)
    encoding = match.group(1).decode() if match else "utf-8"
    try:
        return text.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return text.encode("utf-8")


def parse_xml(source: RoutineSource) -> Any:
    """Parse to an lxml root element, refusing DTDs and entity declarations (XXE, billion laughs),
    network access and oversized input with a :class:`RoutineError` naming the line."""
    from lxml import etree

    data = source_bytes(source)
    if len(data) > MAX_BYTES:
        raise RoutineError(f"file is {len(data)} bytes; the limit is {MAX_BYTES}", source=source.path)
    doctype = _DOCTYPE.search(data)
    if doctype is not None:
        line = data.count(b"\n", 0, doctype.start()) + 1
        raise RoutineError(
            "DOCTYPE and ENTITY declarations are refused (they enable entity expansion and external entities)",
            source=source.path,
            line=line,
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise RoutineError(f"malformed XML: {exc.msg}", source=source.path, line=exc.lineno) from None
    if etree.QName(root).namespace != BPMN or etree.QName(root).localname != "definitions":
        raise RoutineError(
            f"not a BPMN 2.0 file: the root element is {root.tag!r}, not {{{BPMN}}}definitions",
            source=source.path,
            line=root.sourceline,
        )
    return root


def local(el: Any) -> str:
    tag = el.tag
    return tag[tag.index("}") + 1 :] if tag[0] == "{" else tag


def namespace(el: Any) -> str:
    tag = el.tag
    return tag[1 : tag.index("}")] if tag[0] == "{" else ""


def bpmn_children(el: Any, name: str | None = None) -> list[Any]:
    return [c for c in el if isinstance(c.tag, str) and namespace(c) == BPMN and (name is None or local(c) == name)]


def text_of(el: Any | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""
