"""Tier 3: executing one step."""

from vrooli_core.execution.executor import Executor
from vrooli_core.execution.safety import (
    ALLOW,
    Allow,
    Deny,
    Redact,
    RequireApproval,
    SafetyCheck,
    SafetyPoint,
    SafetyRequest,
)
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.execution.tools import ToolSpec, tool

__all__ = [
    "ALLOW",
    "Allow",
    "Deny",
    "Executor",
    "Redact",
    "RequireApproval",
    "SafetyCheck",
    "SafetyPoint",
    "SafetyRequest",
    "StepContext",
    "Strategy",
    "ToolSpec",
    "tool",
]
