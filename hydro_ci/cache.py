"""Where hydro-ci keeps what it can reuse between runs: layers, pip installs, saved engine images."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``HYDRO_CI_CACHE``, else ``$XDG_CACHE_HOME/hydro-ci``, else ``~/.cache/hydro-ci``."""
    env = os.environ.get("HYDRO_CI_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hydro-ci"
