from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hydro_ci.epoch import rfc3339, source_date_epoch
from hydro_ci.errors import UsageError


def test_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert source_date_epoch(tmp_path) == 1700000000
    assert rfc3339(1700000000) == "2023-11-14T22:13:20Z"


def test_bad_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(UsageError):
        source_date_epoch()


def test_last_commit_then_zero(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert source_date_epoch(tmp_path) == 0  # not a repository: never the clock
    env = {"GIT_COMMITTER_DATE": "1600000000 +0000", "GIT_AUTHOR_DATE": "1600000000 +0000",
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    (tmp_path / "f").write_text("x")
    for cmd in (["init", "-q"], ["add", "f"],
                ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "m"]):
        subprocess.run(["git", *cmd], cwd=tmp_path, env=env, check=True)
    assert source_date_epoch(tmp_path) == 1600000000
