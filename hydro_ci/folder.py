"""Where model folders are: the names of their files, and the one way to find them.

A model folder is a directory holding ``serving.yaml`` (or ``serving.yml``) or ``contract.prototxt``.
Every command that looks for model folders (``contract check``, ``matrix``, the breaking-change
hook) calls ``find_model_folders``. What a folder declares is read by ``hydro_ci.contract`` (``ModelFolder``);
this module only knows where folders are, so it imports nothing of hydro-ci.
"""

from __future__ import annotations

import os
from pathlib import Path

SERVING_FILE = "serving.yaml"
SERVING_FILES = (SERVING_FILE, "serving.yml")  # hs 2.x read both extensions
PROTOTXT_FILE = "contract.prototxt"
MODEL_FILES = (*SERVING_FILES, PROTOTXT_FILE)
CONFIG_KEY = "hydro-ci"  # our own section in serving.yaml (template, tag format, …)
# Never searched for model folders: tooling, environments and build outputs, not models (nor any
# folder whose name starts with a dot: .git, .hydro-ci, .venv, .nox, …).
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "venv", "env", "dist"})


def is_model_folder(path: Path) -> bool:
    return any((path / name).is_file() for name in MODEL_FILES)


def serving_file(folder: Path) -> Path | None:
    """The folder's serving.yaml, else its serving.yml (hs 2.x read both)."""
    return next((folder / name for name in SERVING_FILES if (folder / name).is_file()), None)


def folder_of(path: Path) -> Path:
    """The model folder ``path`` names: itself, or the folder of a file inside it."""
    return path.parent if path.is_file() else path


def not_a_model_folder(path: Path, otherwise: str) -> str:
    """Why ``path`` is not a model folder when a serving.yaml is there but not a file, else ``otherwise``."""
    odd = next((name for name in MODEL_FILES if os.path.lexists(path / name)), None)
    if odd is None:
        return otherwise
    return f"not a model folder: {odd} is {'a broken link' if not (path / odd).exists() else 'not a file'}"


def display_path(path: Path) -> str:
    """``path`` as shown to the user: relative to the working directory when inside it."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return absolute
    return absolute if relative.startswith("..") else relative


def find_model_folders(path: Path) -> list[Path]:
    """The model folders ``path`` names, sorted.

    A model folder names itself. Another folder names every model folder below it (folders in
    ``SKIP_DIRS`` and hidden ones are not searched, nor is a model folder's inside: its payload),
    or, with none below, the model folder it lies in. A file names the model folder it belongs to:
    the nearest one up, never past the root of its repository.
    """
    if path.is_dir():
        if is_model_folder(path):
            return [path]
        below = _model_folders_below(path)
        if below:
            return below
    enclosing = enclosing_model_folder(path)
    return [enclosing] if enclosing is not None else []


def enclosing_model_folder(path: Path) -> Path | None:
    """The nearest model folder holding ``path`` (itself included), up to its repository's root."""
    here = Path(os.path.abspath(path))  # absolute, links kept (as the user named it)
    for folder in [here, *here.parents] if here.is_dir() else here.parents:
        if is_model_folder(folder):
            return folder
        if (folder / ".git").exists():
            return None
    return None


def _model_folders_below(top: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(top):  # does not follow links to folders
        if any(name in filenames for name in MODEL_FILES):  # a broken link too: check names it
            found.append(Path(dirpath))
            dirnames[:] = []  # a model's payload is not searched for more models
        else:
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
    return sorted(found)
