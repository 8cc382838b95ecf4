"""Every file hydro-ci writes goes through here: atomically, and never through a symbolic link.

In CI the working directory is a checkout of a pull request, so anything under it, the model folder
included, may be a committed symlink: ``.hydro-ci/iris/summary.md -> ~/.bashrc``, or ``dist ->
/somewhere``. A file is therefore written to a temporary file beside it and renamed into place (a
reader never sees half of it, and an interrupted write leaves the old file), and it is refused when
the file itself, or a directory on its way, is a symlink that a checkout could have planted: every
component below the working directory, and below ``within`` (the output root, or the model folder
when writing into it). Directories the user named above those are theirs and are not judged.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from hydro_ci.errors import OutputPathError

FILE_MODE = 0o644


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))  # lexical: a symlink on the way must stay visible


def _guarded(path: Path, within: Path | None) -> list[Path]:
    """The components of ``path`` that must not be symlinks, shallowest first."""
    target = _absolute(path)
    out: set[Path] = set()
    for base in (Path(os.path.abspath(os.getcwd())), *([_absolute(within)] if within else [])):
        if target != base and target.is_relative_to(base):
            parts = target.relative_to(base).parts
            out.update(base.joinpath(*parts[: i + 1]) for i in range(len(parts)))
    return sorted(out, key=lambda p: len(p.parts))


def _refuse_link(component: Path, path: Path) -> None:
    if component.is_symlink():
        shown = f"{component} (on the way to {path})" if component != _absolute(path) else str(component)
        raise OutputPathError(
            f"{shown} is a symbolic link to {os.readlink(component)}; hydro-ci never writes through one",
            hint="remove the link (a checkout or model folder must not choose where outputs land), "
                 "or write to another directory")


def check_output_path(path: Path, *, within: Path | None = None) -> None:
    """Refuse ``path`` when it, or a directory on its way (see the module docstring), is a symlink."""
    for component in _guarded(path, within):
        _refuse_link(component, path)


def ensure_dir(path: Path, *, within: Path | None = None) -> Path:
    """``mkdir -p path``, checked first: a symlinked component would put everything below it elsewhere."""
    check_output_path(path, within=within)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def atomic_writer(path: Path, *, within: Path | None = None, mode: int = FILE_MODE,
                  replace_link: bool = False) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error (else it vanishes).

    The temporary file is made with O_EXCL in the same directory (so the rename is atomic and
    follows nothing); the rename replaces whatever entry was at ``path``, never a link's target.
    A symlink at ``path`` itself is refused, unless ``replace_link`` (the user asked to replace
    that very file, as ``contract infer --write --force`` does): then the link is what gets replaced.
    """
    base = within if within is not None else path.parent
    ensure_dir(path.parent, within=base)
    if not replace_link:
        check_output_path(path, within=base)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, mode)  # mkstemp's 0600 would hide outputs from other users (and the engine)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_file(path: Path, data: bytes | str, *, within: Path | None = None, mode: int = FILE_MODE,
               replace_link: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, refusing symlinks (see ``atomic_writer``)."""
    with atomic_writer(path, within=within, mode=mode, replace_link=replace_link) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path
