"""hydro-ci's nox sessions: one line in a user's noxfile, run by the real nox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO, copy_example, read_json


def nox(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)


def test_register_sessions_into_a_namespace() -> None:
    from hydro_ci.integrations.nox import register_sessions

    def render(session: object) -> None:  # the project's own: kept
        pass

    namespace: dict[str, object] = {"render": render}
    registered = register_sessions(namespace, models=["m"])
    assert sorted(registered) == ["build_model", "check_contracts", "infer_contract"]
    assert namespace["render"] is render
    assert callable(namespace["build_model"])


def test_a_user_noxfile_runs_build_model_on_the_folder_after_dashes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    copy_example("iris-sklearn", project / "models")
    (project / "noxfile.py").write_text(
        "from hydro_ci.integrations.nox import register_sessions\n"
        "register_sessions(globals(), models=['models/iris-sklearn'])\n")
    listed = nox(["-l"], project)
    assert listed.returncode == 0, listed.stderr
    for name in ("build_model", "check_contracts", "infer_contract", "render"):
        assert name in listed.stdout
    # --no-venv: use the hydro-ci installed here instead of installing it from PyPI
    proc = nox(["--no-venv", "-s", "build_model"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = read_json(project / ".hydro-ci/iris-sklearn/summary.json")
    assert (project / summary["layout"] / "index.json").is_file()
    proc = nox(["--no-venv", "-s", "build_model", "--", "models/iris-sklearn", "--dry-run"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "release plan for iris-sklearn" in proc.stdout + proc.stderr


def test_build_model_installs_hydro_ci_into_its_virtualenv(tmp_path: Path) -> None:
    """The default path: nox makes a virtualenv and the session installs hydro-ci into it."""
    project = tmp_path / "project"
    copy_example("onnx-linear", project / "models")
    # system site packages: the dependencies are already here, so only hydro-ci itself is installed
    (project / "noxfile.py").write_text(
        "from hydro_ci.integrations.nox import register_sessions\n"
        f"register_sessions(globals(), models=['models/onnx-linear'], install=[{str(REPO)!r}],\n"
        "                  venv_params=['--system-site-packages'])\n")
    proc = nox(["-s", "build_model", "--", "models/onnx-linear", "--dry-run"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pip install" in proc.stderr  # nox logs the session's install
    assert "release plan for onnx-linear" in proc.stdout + proc.stderr
    assert list((project / ".nox").glob("build_model*/bin/hydro-ci"))


def test_the_project_noxfile_has_the_sessions_the_readme_names() -> None:
    listed = nox(["-l"], REPO)
    assert listed.returncode == 0, listed.stderr
    for name in ("build_model", "check_contracts", "infer_contract", "render", "tests", "lint", "bench"):
        assert f"{name} ->" in listed.stdout
