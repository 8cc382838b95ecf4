"""Helpers for the attack tests: a model folder from a pull request, and the real command line.

Every attack ends in one ``error:`` line (exit 1) or a harmless result; these helpers run the CLI in a
subprocess (what CI runs) with a timeout, so an attack that hangs fails the test instead of the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris-sklearn"
SECRET = "hydro-secret-5f2e9c"  # planted in the environment and a Docker config: must never be shipped


def run(args: Sequence[str], cwd: Path, *, env: dict[str, str] | None = None, timeout: float = 120,
        prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """``hydro-ci ARGS`` in ``cwd``; ``prefix`` runs it under another program (setpriv)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HYDRO_CI_REGISTRY"))}
    full.update({"SOURCE_DATE_EPOCH": "1700000000", "HYDRO_CI_CACHE": str(cwd / ".cache-hydro"),
                 **(env or {})})
    return subprocess.run([*prefix, sys.executable, "-m", "hydro_ci", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout)


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refused command (exit 1, no traceback): ``error: …``, or a located
    ``FILE: error: … [rule]`` when the folder's rules refused it. Returned for more checks."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:") or ": error: " in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def refused(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines of a refused command: exit 1, no traceback, one line per problem."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = [line for line in lines if line.startswith("error:") or ": error: " in line]
    assert errors, proc.stderr
    return errors


def make_model(where: Path, *, payload: bool = False) -> Path:
    """The bundled python-runtime example (scratch base: builds with no engine and no network),
    without its ``payload:`` list unless asked: then the whole folder ships."""
    folder = where / "model"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    if not payload:
        text = (folder / "serving.yaml").read_text()
        start = text.index("payload:")
        end = text.index("contract:")
        (folder / "serving.yaml").write_text(text[:start] + text[end:])
    return folder


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/services.sh installs it")
        pytest.skip(f"{name} not installed")
    return path


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every regular file under ``root`` whose bytes hold ``needle`` (links not followed)."""
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
    return found


def remove_deep(top: Path) -> None:
    """Remove a folder tree however deep, without recursion: pytest's own clean-up of its temporary
    folders recurses, and would crash (in whichever session cleans up next) on a tree 1 100 deep."""
    path = str(top)
    while os.path.lexists(top):
        subdirs = []
        with os.scandir(path) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.path)
                else:
                    os.unlink(entry.path)
        if subdirs:
            path = subdirs[0]
            continue
        os.rmdir(path)
        path = os.path.dirname(path)
