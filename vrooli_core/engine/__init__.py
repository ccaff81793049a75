"""Tier 2: the run state machine."""

from vrooli_core.engine.engine import Engine, open_storage, read_source
from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.engine.paths import PathPolicy, PathSelector
from vrooli_core.engine.sync import SyncEngine
from vrooli_core.engine.timetravel import Checkpoint, Divergence, ReplayReport

__all__ = [
    "Checkpoint",
    "Divergence",
    "Engine",
    "Navigator",
    "PathPolicy",
    "PathSelector",
    "ReplayReport",
    "RunView",
    "SyncEngine",
    "open_storage",
    "read_source",
]
