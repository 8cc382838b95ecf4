"""Which model folders of a repository changed: the input of a CI build matrix.

A model folder is a directory holding ``serving.yaml`` or ``contract.prototxt``, found as every
command finds them (``hydro_ci.folder``); each Model document of its serving file is one entry
(one image). A model changed when a file changed inside its folder, or anything it pulls in from
elsewhere: a payload entry in another part of the repository (``../shared``, or a symbolic link),
or its ``hydro-ci: template:`` directory. Without a ref (or with the all-zero commit GitHub reports
for a branch's first push), every model is listed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hydro_ci import git
from hydro_ci.contract.payload import layout
from hydro_ci.contract.reader import Declared
from hydro_ci.contract.serving import read_folder
from hydro_ci.errors import UsageError
from hydro_ci.folder import find_model_folders


@dataclass(frozen=True)
class ModelEntry:
    path: str  # POSIX, relative to the repository root ("." for the root itself)
    name: str  # the model name from its Model document, else the folder name
    inputs: tuple[str, ...]  # repository-relative paths whose change rebuilds this model

    def to_dict(self) -> dict[str, str]:
        return {"model": self.path, "name": self.name}


def model_entries(root: Path, folder: Path) -> list[ModelEntry]:
    """The folder's entries, one per Model document (each builds an image of its own): its name and
    what its image is made of, read by the reader every command uses (serving.yml, older formats;
    our YAML limits); a folder that does not read is listed once, under its own name (a broken
    file is the check's business)."""
    read = read_folder(folder, ())
    rel = folder.relative_to(root).as_posix() or "."
    if not read.models:
        return [ModelEntry(rel, folder.name, (rel,))]
    return [ModelEntry(rel, declared.name, _inputs(root, folder, rel, declared)) for declared in read.models]


def _inputs(root: Path, folder: Path, rel: str, declared: Declared) -> tuple[str, ...]:
    inputs = {rel}
    items, _ = layout(declared.root, declared.payload)  # where each entry comes from, as render ships it
    for item in items:
        target = Path(os.path.realpath(item.source))
        if target.is_relative_to(root) and not target.is_relative_to(folder):
            inputs.add(target.relative_to(root).as_posix())  # shared code: a link or a ../ entry
    template = declared.config.get("template")
    if isinstance(template, str):
        target = (folder / template).resolve()
        if target.is_relative_to(root):
            inputs.add(target.relative_to(root).as_posix())
    return tuple(sorted(inputs))


def _touches(inputs: Iterable[str], changed: Iterable[str]) -> bool:
    prefixes = [("" if i == "." else i.rstrip("/") + "/") for i in inputs]
    exact = set(inputs)
    return any(c in exact or any(c.startswith(p) for p in prefixes) for c in changed)


def _repository(paths: Sequence[Path]) -> Path:
    """The one repository holding every path (git's answer for each, not the working directory's)."""
    roots = {git.repo_root(p if p.is_dir() else p.parent).resolve() for p in paths}
    if len(roots) > 1:
        raise UsageError(f"the paths are in {len(roots)} repositories: {', '.join(sorted(map(str, roots)))}",
                         hint="run hydro-ci matrix once per repository")
    return roots.pop()


def _is_null_commit(ref: str) -> bool:
    """GitHub's ``github.event.before`` on the first push of a branch: no previous commit, build all."""
    return len(ref) >= 7 and set(ref) == {"0"}


def changed_models(start: Path, since: str | None = None, paths: Sequence[Path] = ()) -> list[ModelEntry]:
    """The model folders under ``paths`` (default: the repository ``start`` is in) changed since
    ``since`` (all of them when None). The repository is the one the paths are in."""
    starts = [p.resolve() for p in paths]
    missing = [p for p in starts if not p.exists()]
    if missing:
        raise UsageError(f"{missing[0]} does not exist", hint="name folders inside the repository")
    root = _repository(starts or [start.resolve()])
    folders = {f.resolve() for s in starts or [root] for f in find_model_folders(s)}
    entries = [e for f in sorted(folders) if f.is_relative_to(root) for e in model_entries(root, f)]
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
    """The value for ``strategy.matrix``: one job per model, ``matrix.model`` (the folder) and
    ``matrix.name`` (the Model: ``--model`` / the Action's ``model`` input)."""
    return {"include": [e.to_dict() for e in entries]}
