"""Which files of a model folder go into the build context.

Default ignores (VCS data, caches, our own previous outputs) plus the folder's ``.hydroignore``,
which uses ``.dockerignore`` syntax; matching is the docker SDK's own ``PatternMatcher`` so the rules
behave exactly as Docker's do (``**``, ``!`` exceptions, last match wins).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docker.utils.build import PatternMatcher

from hydro_ci.errors import ContextError

IGNORE_FILE = ".hydroignore"

DEFAULT_IGNORES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    "**/__pycache__",
    "**/*.pyc",
    "**/.ipynb_checkpoints",
    "**/.DS_Store",
    ".hydro-ci",  # our own previous outputs
    "dist",
    ".pytest_cache",
    ".mypy_cache",
    IGNORE_FILE,
)


def read_ignore_file(folder: Path) -> list[str]:
    """Patterns from ``folder/.hydroignore`` (comments and blank lines dropped), as Docker reads them."""
    path = folder / IGNORE_FILE
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line_no = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ContextError(f"{path}:{line_no}: not UTF-8 text",
                           hint="save .hydroignore as UTF-8 (patterns use .dockerignore syntax)") from None
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


def ignore_patterns(folder: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """Defaults first, so the user's ``!pattern`` lines can bring an ignored file back."""
    return [*DEFAULT_IGNORES, *extra, *read_ignore_file(folder)]


def included_files(folder: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """POSIX paths (relative to ``folder``) of the regular files and symlinks kept, sorted."""
    matcher = PatternMatcher(ignore_patterns(folder, extra))
    keep = []
    for rel in matcher.walk(str(folder)):
        path = folder / rel
        if path.is_symlink() or path.is_file():
            keep.append(Path(rel).as_posix())
    return sorted(keep)


def ignored_by(folder: Path) -> Callable[[str], bool]:
    """Whether a path relative to ``folder`` is left out of its build context (a parent folder
    ignored counts, as the walk never descends into it). ``.hydroignore`` itself is not shipped
    but decides what is, so it never counts as ignored."""
    matcher = PatternMatcher(ignore_patterns(folder))

    def ignored(rel: str) -> bool:
        return rel != IGNORE_FILE and bool(matcher.matches(rel))

    return ignored
