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


NO_USAGE = Usage()
