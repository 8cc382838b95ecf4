"""How CLI verbs show progress: a live display on a terminal, one whole line per event otherwise.

Events arrive from worker threads (a push uploads blobs in parallel), so each renderer takes a lock:
a plain line is written with one ``write`` call under it and can never be cut by another line, and
the live display's running totals are updated by one thread at a time.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from hydro_ci.build import Progress, ProgressEvent

# Messages that stay on screen in the live display (the rest only pass through its status line).
_KEPT_PREFIXES = ("Step ", "built", "building", "pushing", "pulling")


def plain_output() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


def plain_line(event: ProgressEvent) -> str | None:
    """The line a log shows for ``event``, or None when it is a counter a log does not need."""
    if event.stage == "push" and event.current is not None:
        return None  # byte counters are noise in a CI log; the status lines remain
    if event.stage == "hash" and event.current != event.total:
        return None  # the daemonless builder's hashing counters: only the final one
    # One event, one line: a message with a line break would look like two events.
    return f"[{event.stage}] {' '.join(event.message.splitlines())}"


class PlainLines:
    """One whole line per event on ``stream``: one write each, under a lock, flushed."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        line = plain_line(event)
        if line is None:
            return
        with self._lock:
            # print() writes the text and the newline separately, and another thread's line
            # could land in between ("…(1,449 bytes)[push] a73f…"): one write per line.
            self._stream.write(line + "\n")
            self._stream.flush()


class LiveDisplay:
    """A rich status line for the step in progress, with the lines worth keeping printed above it.

    Stage results (``event.id == stage_event``) and the engine's Dockerfile steps stay on screen; a
    push shows one running total over its parallel uploads instead of flickering between blobs.
    """

    def __init__(self, console: Console, status: Status, stage_event: str | None = None) -> None:
        from rich.markup import escape  # rich loads only for a terminal: a CI log never needs it

        self._escape = escape
        self._console, self._status, self._stage_event = console, status, stage_event
        self._lock = threading.Lock()
        self._blobs: dict[str, tuple[int, int]] = {}  # id → (bytes sent, size) of this push's blobs

    def __call__(self, event: ProgressEvent) -> None:
        # Messages carry user text (Dockerfile steps, paths): escape it so rich never reads a
        # [bracket] in it as markup.
        text = self._escape(event.message)
        with self._lock:
            if self._stage_event is not None and event.id == self._stage_event:
                self._console.print(f"[green]✓[/] [bold]{event.stage:<8}[/] {text}", soft_wrap=True)
            elif event.message.startswith("Step "):  # the engine's Dockerfile steps
                self._console.print(f"  [dim]{event.stage}[/] {text}", soft_wrap=True)
            elif event.message.startswith(_KEPT_PREFIXES) or event.stage == "layer":
                self._console.print(f"[bold]{event.stage}[/] {text}", overflow="ellipsis", no_wrap=True)
            self._status.update(self._status_text(event))

    def _status_text(self, event: ProgressEvent) -> str:
        if event.stage != "push" or not event.id:
            return f"{event.stage}: {self._escape(event.message[:100])}"
        sent, size = self._blobs.get(event.id, (0, 0))
        if event.current is not None and event.total:
            sent, size = event.current, event.total
        else:  # a settled blob ("uploaded", "exists", "Pushed"): all of it, as far as we know its size
            sent = size
        self._blobs[event.id] = (sent, size)
        sent_all = sum(s for s, _ in self._blobs.values())
        size_all = sum(n for _, n in self._blobs.values())
        return f"push: {len(self._blobs)} blobs, {sent_all:,} of {size_all:,} bytes sent"


@contextmanager
def progress_display(stage_event: str | None = None) -> Iterator[Progress]:
    """A live display on a terminal, whole plain lines on stderr in CI or when piped.

    ``stage_event``: the ``ProgressEvent.id`` of a stage's one-line result (the pipeline's), kept on
    screen with a check mark.
    """
    if plain_output():
        yield PlainLines(sys.stderr)
        return
    from rich.console import Console  # as above: only on a terminal

    console = Console(stderr=True, highlight=False)
    with console.status("starting…") as status:
        yield LiveDisplay(console, status, stage_event)
