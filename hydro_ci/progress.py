"""Progress of long steps (build, push, layer hashing): events the library emits, the CLI shows.

The library never prints; it calls a ``Progress`` sink with ``ProgressEvent``s, which the CLI turns
into a live display on a terminal or one plain line per event in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """One step of build/push progress."""

    stage: str  # "build", "push", "layer", …
    message: str  # one line, already free of credentials
    current: int | None = None  # bytes (or steps) done, when known
    total: int | None = None
    id: str | None = None  # layer digest / step id this event belongs to


Progress = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The default progress sink: ignore."""
