"""Resource usage: model tokens, cost, credits, time."""

from __future__ import annotations

import attrs


@attrs.frozen
class Usage:
    """Resources a step or run consumed."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    credits: float = 0.0
    wall_time: float = 0.0
    model_calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cost + other.cost,
            self.credits + other.credits,
            self.wall_time + other.wall_time,
            self.model_calls + other.model_calls,
        )


    def remainder(self, charged: Usage) -> Usage:
        """What is left of this usage once ``charged`` is taken off (never below zero)."""
        return Usage(
            max(self.input_tokens - charged.input_tokens, 0),
            max(self.output_tokens - charged.output_tokens, 0),
            max(self.cost - charged.cost, 0.0),
            max(self.credits - charged.credits, 0.0),
            max(self.wall_time - charged.wall_time, 0.0),
            max(self.model_calls - charged.model_calls, 0),
        )


NO_USAGE = Usage()
