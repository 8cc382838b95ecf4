"""The `hydro-ci-contract-breaking` hook: breaking contract changes against HEAD fail unless intended."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, copy_example, git, hydro_ci, init_repo

INTENDED = "hydro-ci:\n  breaking-change: intended\n"


@pytest.fixture
def models(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    copy_example("iris-sklearn", root)
    copy_example("iris-sklearn", root / "second")
    init_repo(root)
    return root


def edit(serving: Path, old: str, new: str) -> None:
    text = serving.read_text()
    assert old in text
    serving.write_text(text.replace(old, new))


def test_a_breaking_change_fails_with_its_rule(models: Path) -> None:
    serving = models / "iris-sklearn/serving.yaml"
    edit(serving, "type: float64", "type: float32")  # dtype changed: breaking
    proc = hydro_ci(["contract", "breaking", str(serving)], models, check=False)
    assert proc.returncode == 1
    assert "breaking" in proc.stdout and "against HEAD" in proc.stdout
    assert "breaking-change: intended" in proc.stdout  # says how to declare it intended
    assert "iris-sklearn/serving.yaml: error:" in proc.stdout  # located, relative to the repository


def test_intended_breaking_change_passes_with_a_warning(models: Path) -> None:
    serving = models / "iris-sklearn/serving.yaml"
    edit(serving, "type: float64", "type: float32")
    edit(serving, "hydro-ci:\n", INTENDED)
    proc = hydro_ci(["contract", "breaking", str(serving)], models)
    assert "warning:" in proc.stdout and "marked intended" in proc.stdout


def test_additive_and_unchanged_pass(models: Path) -> None:
    serving = models / "iris-sklearn/serving.yaml"
    edit(serving, "  outputs:\n", "  outputs:\n    probability: {shape: [-1, 3], type: float64}\n")
    proc = hydro_ci(["contract", "breaking", str(serving), str(models / "second/iris-sklearn")], models)
    assert proc.stdout == ""


def test_against_another_ref_and_new_folders(models: Path) -> None:
    serving = models / "iris-sklearn/serving.yaml"
    edit(serving, "features:", "measurements:")  # input renamed: breaking
    git(["commit", "-qam", "rename input"], models)
    assert hydro_ci(["contract", "breaking", str(serving)], models).returncode == 0  # HEAD has it
    proc = hydro_ci(["contract", "breaking", "--against", "HEAD~1", str(serving)], models, check=False)
    assert proc.returncode == 1
    proc = hydro_ci(["contract", "breaking", str(serving)], models, check=False,
                    env={"PRE_COMMIT_FROM_REF": "HEAD~1"})
    assert proc.returncode == 1
    fresh = copy_example("onnx-linear", models)  # not in HEAD: nothing to break
    assert hydro_ci(["contract", "breaking", str(fresh / "serving.yaml")], models).returncode == 0


@pytest.mark.slow
@pytest.mark.own_env
def test_through_pre_commit_try_repo(models: Path, tmp_path: Path) -> None:
    """The real pre-commit installs hydro-ci from this repository and runs the hook on changed files."""
    broken = models / "iris-sklearn/serving.yaml"
    edit(broken, "type: float64", "type: float32")
    intended = models / "second/iris-sklearn/serving.yaml"
    edit(intended, "type: float64", "type: float32")
    edit(intended, "hydro-ci:\n", INTENDED)
    git(["add", "-A"], models)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO),
                           "hydro-ci-contract-breaking", "--verbose"],
                          cwd=models, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "hydro-ci-contract-breaking" in out and "Failed" in out
    assert f"{Path('iris-sklearn/serving.yaml')}:" in out  # the unmarked folder fails, located
    assert "marked intended" in out  # the marked one only warns


def test_a_folder_with_serving_yml(models: Path) -> None:
    """hs 2.x read serving.yml too, and so does the folder loader; the hook looked for serving.yaml
    only, at the ref and in the work tree, so a breaking change there passed unseen."""
    folder = models / "iris-sklearn"
    git(["mv", "serving.yaml", "serving.yml"], folder)
    git(["commit", "-qm", "serving.yml"], models)
    serving = folder / "serving.yml"
    edit(serving, "type: float64", "type: float32")
    proc = hydro_ci(["contract", "breaking", str(serving)], models, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "iris-sklearn/serving.yml: error: breaking contract change against HEAD" in proc.stdout
    assert "to serving.yml [contract-breaking]" in proc.stdout
