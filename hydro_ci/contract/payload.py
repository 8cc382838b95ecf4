"""Where each ``payload:`` entry comes from and where it lands in the image: Hydrosphere's layout.

hs 2.x (every release) resolved an entry with ``expandvars(expanduser(normpath(entry)))``, joined a
relative one to the model folder, expanded it with ``glob``, and put each match into the upload
under its basename (``tar.add(path, arcname=os.path.basename(path))``); the manager unpacked the
upload into ``/model/files/``. So ``calculator/src/`` lands at ``/model/files/src/`` and
``../requirements.txt`` at ``/model/files/requirements.txt``. This module is that layout, computed
once for ``contract check`` (the rules) and for ``render`` (the files it copies).

Differences, on purpose: a pattern or path that matches nothing is an error (hs dropped it
silently); two entries that land on one name are an error naming both (hs kept the last); ``.``
(or ``./``) ships the folder's files at ``/model/files/`` itself, as hydro-ci always did (hs 2 put
them under a folder named after the model folder, hs 3 at the root). And a model folder is
untrusted input: a shipped file must lie inside the repository that holds the folder (the git work
tree; the folder itself outside git) unless whoever runs hydro-ci trusts it, with
``HYDRO_CI_TRUST_PAYLOAD_OUTSIDE=1`` — never the folder itself.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hydro_ci.diagnostics import Location, Problem, did_you_mean

TRUST_ENV = "HYDRO_CI_TRUST_PAYLOAD_OUTSIDE"
MAX_SCANNED_FILES = 20_000  # payload folders walked for escaping symlinks
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class PayloadItem:
    """One file or folder shipped: ``source`` (absolute, links not resolved) lands at
    ``/model/files/<target>``; ``target`` is ``""`` for ``.``, the model folder itself."""

    entry: str  # as written in serving.yaml
    location: Location
    source: Path
    target: str


def trusted_outside() -> bool:
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")


def expand(root: Path, entry: str) -> list[Path]:
    """The paths an entry names, as hs 2.x resolved them: ``~`` and ``$VARS`` expanded, relative
    entries joined to ``root``, normalised (``..`` folded), globs expanded (sorted)."""
    text = os.path.expandvars(os.path.expanduser(os.path.normpath(entry.strip())))
    path = os.path.normpath(text if os.path.isabs(text) else os.path.join(root, text))
    if _GLOB_CHARS & set(path):
        return [Path(p) for p in sorted(glob.glob(path))]
    return [Path(path)] if os.path.lexists(path) else []


def target_of(root: Path, source: Path) -> str:
    """The name under /model/files/: the basename, or "" for the model folder itself."""
    return "" if os.path.normpath(source) == os.path.normpath(root) else source.name


def repository_root(folder: Path) -> Path:
    """The git work tree holding ``folder`` (nearest ancestor with ``.git``), else ``folder``."""
    absolute = Path(os.path.abspath(folder))
    for candidate in (absolute, *absolute.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return absolute


def layout(root: Path, entries: list[tuple[str, Location]]) -> tuple[list[PayloadItem], list[Problem]]:
    """Every shipped item with its target, and every problem: missing, colliding, outside."""
    items: list[PayloadItem] = []
    problems: list[Problem] = []
    by_target: dict[str, PayloadItem] = {}
    boundary: Path | None = None
    real_root = _real(root)
    for entry, where in entries:
        if not entry.strip():
            problems.append(Problem(where, "empty payload entry; name a file or folder (or '.' for the "
                                    "whole folder)", "payload-missing"))
            continue
        found = expand(root, entry)
        if not found:
            problems.append(Problem(where, _missing(root, entry), "payload-missing"))
            continue
        for source in found:
            item = PayloadItem(entry, where, source, target_of(root, source))
            real = _real(source)
            if real is None:
                what = f"payload entry {entry!r}" + ("" if len(found) == 1 else f": {source}")
                problems.append(Problem(where, f"{what} is a broken symlink (or a loop)", "payload-missing"))
                continue
            inside_folder = real_root is not None and real.is_relative_to(real_root)
            if not inside_folder:
                boundary = boundary or _real(repository_root(root)) or root
                if not real.is_relative_to(boundary) and not trusted_outside():
                    problems.append(Problem(where, f"payload entry {entry!r} resolves outside the repository "
                                            f"{boundary} (to {real}); hydro-ci ships no file from outside "
                                            f"unless {TRUST_ENV}=1 is set where it runs",
                                            "payload-escapes"))
                    continue
            limit = real_root if inside_folder else boundary
            if source.is_dir() and limit is not None and not trusted_outside():
                escaping = _escaping_link(source, limit)
                if escaping is not None:
                    shown = os.path.relpath(escaping, root if inside_folder else source)
                    problems.append(Problem(where, f"payload entry {entry!r} holds a symlink leaving the "
                                            f"{'model folder' if inside_folder else 'repository'}: "
                                            f"{shown}", "payload-escapes"))
                    continue
            earlier = by_target.get(item.target)
            if earlier is not None and earlier.source != item.source:
                shown, first = item.target or ".", earlier.location.render()
                problems.append(Problem(where, f"payload entries {earlier.entry!r} ({first}) and {entry!r} "
                                        f"both land at /model/files/{shown}; Hydrosphere "
                                        "ships each entry under its basename: rename one, or ship their "
                                        "common folder", "payload-collision"))
                continue
            if earlier is None:
                by_target[item.target] = item
                items.append(item)
    return items, problems


def shipped_files(item: PayloadItem, kept: list[str] | None = None) -> Iterator[tuple[str, Path]]:
    """(path under /model/files, source file) of one item; ``kept`` lists a folder's files to ship
    (relative, POSIX), else every file under it."""
    if not item.source.is_dir():
        yield item.target, item.source
        return
    for rel in kept if kept is not None else _all_files(item.source):
        yield (f"{item.target}/{rel}" if item.target else rel), item.source / rel


def func_main_source(root: Path, items: list[PayloadItem] | None) -> Path:
    """Where ``/model/files/src/func_main.py`` comes from: the shipped item that lands at ``src``."""
    if items:
        for item in items:
            if item.target == "src" and item.source.is_dir():
                return item.source / "func_main.py"
            if item.target == "" and item.source.is_dir():
                return item.source / "src" / "func_main.py"
    return root / "src" / "func_main.py"


def _missing(root: Path, entry: str) -> str:
    if _GLOB_CHARS & set(entry):
        return f"payload pattern {entry!r} matches no file"
    try:
        names = sorted(p.name for p in root.iterdir())
    except OSError:
        names = []
    return f"payload entry {entry!r} does not exist{did_you_mean(entry.rstrip('/'), names)}"


def _real(path: Path) -> Path | None:
    try:
        if not path.exists():
            return None
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _all_files(top: Path) -> list[str]:
    return sorted(Path(dirpath, name).relative_to(top).as_posix()
                  for dirpath, _, filenames in os.walk(top) for name in filenames)


def _escaping_link(top: Path, boundary: Path) -> Path | None:
    """The first symlink under ``top`` that resolves outside ``boundary`` (bounded walk)."""
    seen = 0
    for dirpath, dirnames, filenames in os.walk(top):  # does not follow links
        for name in (*dirnames, *filenames):
            seen += 1
            path = Path(dirpath, name)
            if not path.is_symlink():
                continue
            try:
                target = path.resolve()
            except (OSError, RuntimeError):  # a symlink loop (RuntimeError on 3.11) leads nowhere
                continue
            if not target.is_relative_to(boundary):
                return path
        if seen > MAX_SCANNED_FILES:
            return None
    return None
