"""The one place hydro-ci runs git. Failures become ``GitError`` with a sentence saying what to do."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hydro_ci.errors import HydroCIError


class GitError(HydroCIError):
    """A git command failed or git is missing."""


def run_git(args: Sequence[str], cwd: Path | str, *, check: bool = True,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input, env=env)
    except FileNotFoundError:
        raise GitError("git is not installed", hint="install git, or set SOURCE_DATE_EPOCH") from None
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        last = detail[-1] if detail else f"exit {proc.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {last}")
    return proc


def git_output(args: Sequence[str], cwd: Path | str) -> str:
    return run_git(args, cwd).stdout.decode().strip()


def is_work_tree(path: Path | str) -> bool:
    proc = run_git(["rev-parse", "--is-inside-work-tree"], path, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == b"true"


def head_commit(path: Path | str) -> str | None:
    """The full commit id of HEAD, or None outside a repository or before the first commit."""
    proc = run_git(["rev-parse", "--verify", "-q", "HEAD"], path, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def last_commit_time(path: Path | str) -> int | None:
    """Commit time (seconds since the epoch) of the last commit touching ``path``, else of HEAD."""
    for args in (["log", "-1", "--format=%ct", "--", "."], ["log", "-1", "--format=%ct"]):
        proc = run_git(args, path, check=False)
        text = proc.stdout.decode().strip()
        if proc.returncode == 0 and text:
            return int(text)
    return None


def remote_url(path: Path | str, remote: str = "origin") -> str | None:
    proc = run_git(["remote", "get-url", remote], path, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None
