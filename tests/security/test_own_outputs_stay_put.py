"""Our own outputs are neither shipped nor written outside where they were asked for.

A ``--dist`` (or ``--output``, ``--output-layout``) inside the model folder held earlier images and
stage files that the next image shipped, whatever ``.hydroignore`` said; ``--version '../../..'``
made the pipeline write its layout and archive outside ``--dist``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris-sklearn"


def _hydro_ci(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HYDRO_CI_REGISTRY"))}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    return subprocess.run([sys.executable, "-m", "hydro_ci", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def whole_folder(tmp_path: Path) -> Path:
    """The example without a payload list: the whole folder is shipped."""
    model = tmp_path / "work" / "m"
    shutil.copytree(EXAMPLE, model, ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    yaml = (model / "serving.yaml").read_text()
    (model / "serving.yaml").write_text(yaml.replace('payload:\n  - "src/"\n  - "requirements.txt"\n'
                                                     '  - "model.joblib"\n', ""))
    (model / ".hydroignore").write_text("!images\n!out\n")  # even brought back on purpose
    return model


def _shipped(plan: Path) -> list[str]:
    return [f["path"] for f in json.loads(plan.read_text())["files"]]


def test_dist_and_output_inside_the_model_folder_are_not_shipped(whole_folder: Path) -> None:
    work = whole_folder.parent
    for version in ("0.1.0", "0.2.0"):  # the second run finds the first one's images and stage files
        proc = _hydro_ci(["pipeline", "m", "--dist", "m/images", "--output", "m/out", "--version", version],
                         work)
        assert proc.returncode == 0, proc.stderr
    assert (whole_folder / "images" / "iris-sklearn-0.1.0.tar").is_file()
    shipped = _shipped(whole_folder / "out" / "context" / "plan.json")
    assert not [p for p in shipped if "/images/" in p or "/out/" in p], shipped
    assert "model/files/model.joblib" in shipped


def test_build_outputs_inside_the_model_folder_are_not_shipped(whole_folder: Path) -> None:
    work = whole_folder.parent
    for version in ("0.1.0", "0.2.0"):  # one layout for both (it holds tags); one archive name
        proc = _hydro_ci(["build", "m", "--builder", "oci", "--image", "m", "--version", version,
                          "--base-from", "scratch", "--output", "ctx", "--output-layout", "m/images/all.oci",
                          "--output-tar", "m/images.tar"], work)
        assert proc.returncode == 0, proc.stderr
    shipped = _shipped(work / "ctx" / "plan.json")
    assert not [p for p in shipped if "images" in p], shipped


@pytest.mark.parametrize("version", ["../../../escaped", "../x", "1.0.0/../../x", "..", ".hidden", "1.0 ",
                                     "a\nb"])
def test_a_version_is_a_tag_never_a_path(whole_folder: Path, version: str) -> None:
    work = whole_folder.parent
    proc = _hydro_ci(["pipeline", "m", "--version", version, "--dist", "dist"], work)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("error:") == 1 and "not a valid version" in proc.stderr
    assert sorted(p.name for p in work.parent.iterdir()) == ["work"]
    assert not (work / "dist").exists()
