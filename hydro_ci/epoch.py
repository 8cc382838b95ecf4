"""The build time every reproducible artefact carries: read once at the edge, passed down.

``SOURCE_DATE_EPOCH`` when set (reproducible-builds.org), else the last commit time of the model
folder, else 0 (1970-01-01) so that output never depends on the clock. It dates the image
(``created``, history, the created label).

File and directory times inside layers are ``file_time(epoch)``: a fixed time, clamped to the epoch
as reproducible-builds.org clamps every mtime. Were they the epoch itself, every commit would give
every layer new bytes, and a code-only change would re-push the weights; per-file commit times
would differ between a shallow and a full clone of the same commit. (Jib and ko fix them too.)
The epoch itself can still differ there: in a shallow clone whose HEAD does not touch the folder,
the last commit touching it is the clone's cut-off; set SOURCE_DATE_EPOCH or fetch the history.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from hydro_ci.errors import UsageError


def source_date_epoch(folder: Path | str | None = None) -> int:
    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if text:
        if not text.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, got {text!r}")
        return int(text)
    if folder is not None and Path(folder).is_dir():
        from hydro_ci import git

        try:
            when = git.last_commit_time(folder)
        except git.GitError:
            when = None
        if when is not None:
            return when
    return 0


_RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


def rfc3339(epoch: int) -> str:
    """The form OCI's `created` and org.opencontainers.image.created use."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime(_RFC3339)


def parse_rfc3339(text: object) -> int | None:
    """The epoch ``rfc3339`` wrote ``text`` from; None for any other form (another tool's image)."""
    if not isinstance(text, str):
        return None
    try:
        when = datetime.strptime(text, _RFC3339).replace(tzinfo=UTC)
    except ValueError:
        return None
    epoch = int(when.timestamp())
    return epoch if rfc3339(epoch) == text else None


FIXED_FILE_TIME = 1  # 1970-01-01T00:00:01Z: a real time (some tools read 0 as "unset"), as Jib uses


def file_time(epoch: int) -> int:
    """The mtime of every layer entry and context file: fixed, never later than the epoch."""
    return min(FIXED_FILE_TIME, epoch)
