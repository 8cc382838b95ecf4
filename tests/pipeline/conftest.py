"""Helpers for the pipeline tests: copies of the bundled examples and running the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/services.sh installs it")
        pytest.skip(f"[needs tool] {name} not installed")
    return path


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    return target


def hydro_ci(args: Sequence[str], cwd: Path, *, env: dict[str, str] | None = None,
             input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real command line, in a subprocess (what a user or a CI step runs)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HYDRO_CI_REGISTRY"))}
    full_env.update({"SOURCE_DATE_EPOCH": "1700000000", **(env or {})})
    proc = subprocess.run([sys.executable, "-m", "hydro_ci", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"hydro-ci {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def iris(tmp_path: Path) -> Path:
    """The bundled python-runtime example, copied out of the repository (so outside any git tree)."""
    return copy_example("iris-sklearn", tmp_path / "models")


def git(args: Sequence[str], cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def init_repo(root: Path) -> Path:
    """A git repository on branch main with everything under ``root`` committed."""
    git(["init", "-q", "-b", "main"], root)
    git(["add", "-A"], root)
    git(["commit", "-q", "-m", "models"], root)
    return root


@pytest.fixture
def iris_repo(tmp_path: Path) -> Path:
    """The bundled example in a git repository of its own (branch main, one commit)."""
    root = tmp_path / "repo"
    copy_example("iris-sklearn", root)
    init_repo(root)
    return root / "iris-sklearn"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d
