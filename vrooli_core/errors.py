"""The error hierarchy. Only the CLI turns these into exit codes and messages."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateEventError",
    "DuplicatePluginError",
    "ExpressionError",
    "LeaseHeldError",
    "LimitExceededError",
    "NavigatorError",
    "NotFoundError",
    "PluginError",
    "PluginLoadError",
    "RoutineError",
    "RunCancelledError",
    "RunError",
    "StorageError",
    "ToolInputError",
    "UnknownPluginError",
    "VrooliError",
]


class VrooliError(Exception):
    """Base class of every error vrooli raises on purpose."""


class ConfigError(VrooliError):
    """Invalid configuration: a config file, an environment variable, a CLI option."""


class PluginError(VrooliError):
    """A plugin is missing, broken or conflicts with another."""


class PluginLoadError(PluginError):
    """A plugin's entry point could not be imported or registered."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(f"plugin {name!r} failed to load: {type(error).__name__}: {error}")
        self.name = name
        self.error = error


class UnknownPluginError(PluginError, LookupError):
    """No registered capability has the requested name."""

    def __init__(self, kind: str, name: str, available: list[str]) -> None:
        names = ", ".join(sorted(available)) or "none"
        super().__init__(f"unknown {kind} {name!r} (available: {names})")
        self.kind = kind
        self.name = name
        self.available = available


class DuplicatePluginError(PluginError):
    """Two plugins registered a capability under the same name."""

    def __init__(self, kind: str, name: str, first: object, second: object) -> None:
        super().__init__(
            f"{kind} {name!r} is registered twice: by {_qualname(first)} and by {_qualname(second)}"
        )
        self.kind = kind
        self.name = name


class RoutineError(VrooliError):
    """A routine definition is invalid or uses something that cannot be executed.

    ``element`` is the id of the offending element, ``line`` its source line when known.
    """

    def __init__(
        self,
        message: str,
        *,
        element: str | None = None,
        line: int | None = None,
        source: str | None = None,
        problems: list[RoutineError] | None = None,
    ) -> None:
        self.message = message
        self.element = element
        self.line = line
        self.source = source
        self.problems = problems or []
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source:
            where.append(self.source + (f":{self.line}" if self.line else ""))
        elif self.line:
            where.append(f"line {self.line}")
        if self.element:
            where.append(f"element {self.element!r}")
        head = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.problems:
            head += "".join(f"\n  - {p}" for p in self.problems)
        return head


class ExpressionError(RoutineError):
    """An expression (a condition, a mapping) is invalid or failed to evaluate."""


class RunError(VrooliError):
    """A run failed, or an operation on a run is not possible in its current state."""

    def __init__(self, message: str, *, run_id: str | None = None, code: str | None = None) -> None:
        super().__init__(message if run_id is None else f"run {run_id}: {message}")
        self.run_id = run_id
        self.code = code


class NavigatorError(RunError):
    """A navigator raised or returned something invalid while moving a run."""


class LimitExceededError(RunError):
    """A run reached one of its limits and was configured to fail."""


class RunCancelledError(RunError):
    """The run was cancelled."""


class ToolInputError(VrooliError):
    """A tool was called with arguments that do not match its schema."""

    def __init__(self, tool: str, problems: list[str]) -> None:
        super().__init__(f"tool {tool!r} got invalid arguments: " + "; ".join(problems))
        self.tool = tool
        self.problems = problems


class StorageError(VrooliError):
    """A storage backend could not do what was asked."""


class NotFoundError(StorageError, LookupError):
    """A routine, run, task or event that does not exist was asked for."""


class DuplicateEventError(StorageError):
    """An event with a sequence number that is already recorded was appended."""


class LeaseHeldError(StorageError):
    """A commit that takes a run's lease was refused: another engine's lease on the run has not ended."""

    def __init__(self, run_id: str, holder: str) -> None:
        super().__init__(f"run {run_id}: another engine ({holder}) holds its lease")
        self.run_id = run_id
        self.holder = holder


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
