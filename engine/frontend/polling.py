"""How long a long poll may wait: up to its cap, and always answering before the caller's own
gRPC deadline runs out."""

from __future__ import annotations

from typing import Any

import grpc

Context = grpc.aio.ServicerContext[Any, Any]

MAX_POLL_SECONDS = 60.0  # Temporal answers an idle long poll with an empty response after ~60 s
POLL_SAFETY_MARGIN = 1.0  # answer before the caller's own deadline


def poll_timeout(context: Context, cap: float = MAX_POLL_SECONDS) -> float:
    remaining = context.time_remaining()
    if remaining is None:
        return cap
    return max(0.0, min(cap, remaining - POLL_SAFETY_MARGIN))
