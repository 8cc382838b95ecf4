"""Hydrosphere's own released packages, each in a virtualenv of its own, as test oracles.

An oracle is a venv made from one lock (``locks/hs3.txt``, ``locks/hs2.txt``: the whole closure,
installed with ``--no-deps`` because hs and hydrosdk pin versions that do not install on Python 3.11)
and a driver script run in it through a subprocess: hydro-ci never imports Hydrosphere's code.
Venvs live in ``$HYDRO_CI_ORACLE_DIR`` (default ``.nox/oracles/``) under a name that holds the lock's
digest, so a changed lock makes a new venv and an unchanged one is reused (about 30 s each to make).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "locks"
HERE = Path(__file__).resolve().parent
INSTALL_TIMEOUT = 600


class OracleUnavailable(Exception):
    """The oracle's venv could not be made (no network, no package index)."""


def oracle_dir() -> Path:
    return Path(os.environ.get("HYDRO_CI_ORACLE_DIR") or ROOT / ".nox" / "oracles")


def oracle_python(name: str) -> Path:
    """The python of oracle ``name`` (``hs3``, ``hs2``), making its venv first when needed."""
    lock = LOCKS / f"{name}.txt"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    venv = oracle_dir() / f"{name}-{digest}"
    python = venv / "bin" / "python"
    if (venv / ".complete").is_file():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Made aside and renamed into place: a run stopped half-way, or two runs at once, never leave a
    # half-installed venv under the final name.
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=venv.parent))
    try:
        _run([sys.executable, "-m", "venv", str(work)])
        _run([str(work / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
              "--disable-pip-version-check", "-r", str(lock)])
        (work / ".complete").write_text(digest + "\n")
        # A venv's scripts hold its path; only bin/python (a symlink to the base) is used here.
        try:
            work.rename(venv)
        except OSError:  # another run finished first
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return python


def _run(cmd: list[str]) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OracleUnavailable(f"{' '.join(cmd)}: {exc}") from None
    if done.returncode != 0:
        raise OracleUnavailable(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")


def run_driver(name: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``tests/oracle/<name>_driver.py`` in the oracle's venv over ``cases`` (JSON in, JSON out)."""
    python = oracle_python(name)
    done = subprocess.run(
        [str(python), str(HERE / f"{name}_driver.py")], input=json.dumps(cases), capture_output=True,
        text=True, timeout=300, check=False, cwd=str(ROOT),
    )
    if done.returncode != 0:
        raise AssertionError(f"{name} driver failed ({done.returncode}):\n{done.stderr[-5000:]}")
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result
