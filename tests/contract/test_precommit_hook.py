"""The real ``pre-commit try-repo`` runs our hook on a repository with one good and one bad model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.contract.helpers import SERVING, make_folder

ROOT = Path(__file__).resolve().parents[2]
# What pre-commit needs to pip-install hydro-ci from a repository.
PACKAGE = ["pyproject.toml", "README.md", "hydro_ci", "templates", ".pre-commit-hooks.yaml"]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def hook_repo(dest: Path) -> Path:
    """A git repository holding this work tree's package files (committed or not)."""
    files = git(ROOT, "ls-files", "-co", "--exclude-standard", "--", *PACKAGE).splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "hydro-ci")
    return dest


@pytest.mark.slow
@pytest.mark.own_env
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        missing = "pre-commit not installed (pip install 'hydro-ci[dev]')"
        if os.environ.get("CI"):  # CI installs it: a missing tool must not turn into a green skip
            pytest.fail(missing)
        pytest.skip(missing)
    hooks = hook_repo(tmp_path / "hydro-ci")
    models = tmp_path / "models"
    models.mkdir()
    git(models, "init", "-q")
    make_folder(models, name="good")
    make_folder(models, SERVING.replace("float32", "float33"), name="bad")
    (models / "notes.yaml").write_text("not: a model\n")  # not matched by the hook's files pattern
    git(models, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    env.pop("GITHUB_ACTIONS", None)

    def try_repo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pre-commit", "try-repo", str(hooks), "hydro-ci-contract", *args],
                              cwd=models, env=env, capture_output=True, text=True, timeout=900)

    proc = try_repo("--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "bad/serving.yaml:9:31: error: unknown type 'float33' of 'x'" in proc.stdout, proc.stdout
    assert "good/" not in proc.stdout.replace("bad/", "")
    proc = try_repo("--files", "good/serving.yaml")  # only changed files are passed: good alone passes
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hydro-ci contract check" in proc.stdout and "Passed" in proc.stdout
