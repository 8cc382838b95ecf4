"""The README's first command, as a new user types it: a fresh clone, a fresh virtualenv, no Docker
engine and no registry; the only network is the package index."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

# Keep in step with README.md / docs/pipeline.md ("Try it").
MAIN_JOB = ("python3 -m venv .venv && . .venv/bin/activate && pip install . && "
            "hydro-ci pipeline examples/iris-sklearn")


@pytest.mark.slow
@pytest.mark.own_env
def test_main_job_in_a_fresh_clone_and_venv(tmp_path: Path) -> None:
    clone = tmp_path / "hydro-ci"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "DOCKER_HOST", "SOURCE_DATE_EPOCH")
           and not k.startswith(("GITHUB_", "HYDRO_CI_"))}
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"  # prove no engine is used
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run(["bash", "-c", MAIN_JOB], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "iris-sklearn 0.1.0" in proc.stdout
    summary = json.loads((clone / ".hydro-ci/iris-sklearn/summary.json").read_text())
    assert summary["layout"] == "dist/iris-sklearn-0.1.0.oci"
    assert (clone / summary["layout"] / "index.json").is_file()
    assert (clone / "dist/iris-sklearn-0.1.0.tar").is_file()
    assert (clone / ".hydro-ci/iris-sklearn/summary.md").read_text().startswith("## hydro-ci: iris-sklearn")
    # the installed hydro-ci is the clone's, not this checkout's
    probe = "import hydro_ci; print(hydro_ci.__file__)"
    where = subprocess.run([str(clone / ".venv/bin/python"), "-c", probe], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(clone / ".venv"))
