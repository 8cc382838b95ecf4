"""Which model folders of a repository changed: the input of a CI build matrix.

A model folder is a directory holding ``serving.yaml`` or ``contract.prototxt``. It changed when a
file changed inside it, or anything it pulls in from elsewhere: a payload entry that is a symbolic
link into another part of the repository, or its ``hydro-ci: template:`` directory. Without a ref (or
with the all-zero commit GitHub reports for a branch's first push), every model folder is listed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydro_ci import git
from hydro_ci.contract import yamlfile
from hydro_ci.errors import ProblemsError, UsageError
from hydro_ci.folder import CONFIG_KEY, PROTOTXT_FILE, SERVING_FILE

# Never model folders, and never worth walking into.
SKIP_DIRS = frozenset({".git", ".hydro-ci", ".nox", ".tox", ".venv", "venv", "node_modules", "dist",
                       "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


@dataclass(frozen=True)
class ModelEntry:
    path: str  # POSIX, relative to the repository root ("." for the root itself)
    name: str  # the model name from serving.yaml, else the folder name
    inputs: tuple[str, ...]  # repository-relative paths whose change rebuilds this model

    def to_dict(self) -> dict[str, str]:
        return {"model": self.path, "name": self.name}


def find_model_folders(root: Path, paths: Sequence[Path] = ()) -> list[Path]:
    """Model folders under ``paths`` (default: ``root``), sorted."""
    found: set[Path] = set()
    for start in paths or (root,):
        if not start.exists():
            raise UsageError(f"{start} does not exist", hint="name folders inside the repository")
        for here, dirs, names in os.walk(start):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            if SERVING_FILE in names or PROTOTXT_FILE in names:
                found.add(Path(here).resolve())
    return sorted(found)


def _serving(folder: Path) -> dict[str, Any]:
    """serving.yaml as plain data, or {} (a broken file is the check's business, not the matrix's)."""
    try:  # the one bounded reader: PyYAML's own recursion crashed on a deeply nested file
        data = yamlfile.to_python(yamlfile.load(folder / SERVING_FILE, SERVING_FILE))
    except ProblemsError:
        return {}
    return data if isinstance(data, dict) else {}


def model_entry(root: Path, folder: Path) -> ModelEntry:
    data = _serving(folder)
    rel = folder.relative_to(root).as_posix() or "."
    name = data.get("name") if isinstance(data.get("name"), str) else None
    inputs = {rel}
    payload = data.get("payload")
    for entry in payload if isinstance(payload, list) else []:
        target = (folder / str(entry)).resolve()
        if target.is_relative_to(root) and not target.is_relative_to(folder):
            inputs.add(target.relative_to(root).as_posix())  # a symlink into shared code
    config = data.get(CONFIG_KEY)
    template = config.get("template") if isinstance(config, dict) else None
    if isinstance(template, str):
        target = (folder / template).resolve()
        if target.is_relative_to(root):
            inputs.add(target.relative_to(root).as_posix())
    return ModelEntry(rel, name or folder.name, tuple(sorted(inputs)))


def _touches(inputs: Iterable[str], changed: Iterable[str]) -> bool:
    prefixes = [("" if i == "." else i.rstrip("/") + "/") for i in inputs]
    exact = set(inputs)
    return any(c in exact or any(c.startswith(p) for p in prefixes) for c in changed)


def _is_null_commit(ref: str) -> bool:
    """GitHub's ``github.event.before`` on the first push of a branch: no previous commit, build all."""
    return len(ref) >= 7 and set(ref) == {"0"}


def changed_models(start: Path, since: str | None = None, paths: Sequence[Path] = ()) -> list[ModelEntry]:
    """The model folders changed since ``since`` (all of them when None)."""
    root = git.repo_root(start).resolve()
    entries = [model_entry(root, f) for f in find_model_folders(root, [p.resolve() for p in paths])]
    if since is None or _is_null_commit(since):
        return entries
    changed = git.changed_files(root, since)
    return [e for e in entries if _touches(e.inputs, _shipped(root, e, changed))]


def _shipped(root: Path, entry: ModelEntry, changed: list[str]) -> list[str]:
    """The changed files that can reach the entry's image: inside its folder, those its ignore rules
    keep (a __pycache__/ or the .hydro-ci/ a local run left is no change to the model)."""
    from hydro_ci.contract.payload import ignored_by  # the docker SDK's matcher: only when asked

    prefix = "" if entry.path == "." else entry.path.rstrip("/") + "/"
    ignored = ignored_by(root / entry.path)
    return [c for c in changed if not (c.startswith(prefix) and ignored(c[len(prefix):]))]


def github_matrix(entries: Iterable[ModelEntry]) -> dict[str, list[dict[str, str]]]:
    """The value for ``strategy.matrix``: one job per model, ``matrix.model`` and ``matrix.name``."""
    return {"include": [e.to_dict() for e in entries]}
