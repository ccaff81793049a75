"""One shared, immutable empty mapping: the default of every mapping field of the model.

Frozen values must not share a mutable default, and a run makes many of them: a factory would
allocate (and the garbage collector would then walk) two empty dicts per decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})
