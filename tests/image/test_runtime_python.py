"""The deps layer's Python: the base's PYTHON_VERSION, else the runtime's name, else --python-version.

Each wheel here is tagged for one Python only (``cp37-none-any``): pip installs it only when it was
asked for that Python, so a wrong choice fails the build instead of passing unnoticed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from wheelkit import write_wheel

from hydro_ci.build.python import python_in_name, runtime_python
from hydro_ci.errors import UsageError
from hydro_ci.image.model import ImageConfig
from tests.image.bases import write_base

SERVING = """kind: Model
name: pyver
runtime: "{runtime}"
install-command: "pip install -r requirements.txt"
payload: ["src/", "requirements.txt"]
contract:
  name: infer
  inputs:
    x: {{shape: scalar, type: float32}}
  outputs:
    y: {{shape: scalar, type: float32}}
"""


def model_for(tmp_path: Path, runtime: str, wheel_tag: str) -> Path:
    """A model folder on ``runtime`` needing one wheel that only installs for ``wheel_tag``'s Python."""
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "tinypkg", "1.2.3", tag=wheel_tag)
    model = tmp_path / "model"
    (model / "src").mkdir(parents=True)
    (model / "src/func_main.py").write_text("def infer(x):\n    return {'y': x}\n")
    # the wheelhouse is the build machine's pip setting (hydro() below): a requirements file may not
    # point pip outside the payload (tests/security/test_host_code.py)
    (model / "requirements.txt").write_text("tinypkg==1.2.3\n")
    (model / "serving.yaml").write_text(SERVING.format(runtime=runtime))
    return model


def hydro(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "CI": "true",
           "HYDRO_CI_CACHE": str(tmp_path / "cache"), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(tmp_path / "wheels")}
    return subprocess.run([sys.executable, "-m", "hydro_ci", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path)


def build(tmp_path: Path, model: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return hydro(tmp_path, "build", str(model), "--image", "r.example/acme/pyver", "--version", "1.0.0",
                 "--builder", "oci", *args)


def test_a_hydrosphere_runtime_read_from_scratch_gets_the_python_its_name_says(tmp_path: Path) -> None:
    model = model_for(tmp_path, "hydrosphere/serving-runtime-python-3.7:3.0.0", "cp37-none-any")
    out = build(tmp_path, model, "--base-from", "scratch")
    assert out.returncode == 0, out.stderr
    assert ("[deps] pip install for python 3.7 (manylinux_2_28_x86_64), from the runtime's name "
            "hydrosphere/serving-runtime-python-3.7:3.0.0") in out.stderr


def test_the_base_configs_python_version_decides_over_the_name(tmp_path: Path) -> None:
    base = write_base(tmp_path / "base", env={"PYTHON_VERSION": "3.8.18"})
    model = model_for(tmp_path, "acme/runtime-python-3.12:1.0", "cp38-none-any")
    out = build(tmp_path, model, "--base-from", base)
    assert out.returncode == 0, out.stderr
    assert "python 3.8 (manylinux_2_28_x86_64), from the base's PYTHON_VERSION=3.8.18" in out.stderr


def test_the_flag_decides_only_where_nothing_else_says(tmp_path: Path) -> None:
    model = model_for(tmp_path, "acme/runtime:1.0", "cp39-none-any")
    out = build(tmp_path, model, "--base-from", "scratch", "--python-version", "3.9")
    assert out.returncode == 0, out.stderr
    assert "python 3.9 (manylinux_2_28_x86_64), from --python-version" in out.stderr


def test_a_flag_that_contradicts_the_base_is_one_usage_line(tmp_path: Path) -> None:
    base = write_base(tmp_path / "base", env={"PYTHON_VERSION": "3.8.18"})
    model = model_for(tmp_path, "acme/runtime:1.0", "cp38-none-any")
    out = build(tmp_path, model, "--base-from", base, "--python-version", "3.10")
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines()[-2:] == [
        "error: --python-version 3.10 contradicts the base's PYTHON_VERSION=3.8.18 (Python 3.8)",
        "hint: drop --python-version (the base's config decides), or build on a base with that Python"]
    assert "Traceback" not in out.stderr and not (tmp_path / "cache/pip").exists()


def test_the_pipeline_and_its_release_plan_decide_the_same_way(tmp_path: Path) -> None:
    model = model_for(tmp_path, "acme/py38-runtime:2.0", "cp38-none-any")
    plan = hydro(tmp_path, "pipeline", str(model), "--base-from", "scratch", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert ("note: pip installs wheels for python 3.8, from the runtime's name acme/py38-runtime:2.0"
            in plan.stdout)
    out = hydro(tmp_path, "pipeline", str(model), "--base-from", "scratch", "--python-version", "3.8")
    assert out.returncode == 0, out.stderr
    refused = hydro(tmp_path, "pipeline", str(model), "--base-from", "scratch", "--python-version", "3.11")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-2] == ("error: --python-version 3.11 contradicts the runtime's name "
                                               "acme/py38-runtime:2.0 (Python 3.8)")


def test_the_pipeline_flag_is_checked_before_anything_runs(tmp_path: Path) -> None:
    model = model_for(tmp_path, "acme/runtime:1.0", "cp39-none-any")
    bad = hydro(tmp_path, "pipeline", str(model), "--python-version", "three")
    assert (bad.returncode, bad.stderr.splitlines()[0]) == (
        2, "error: --python-version 'three' is not a Python version")
    engine = hydro(tmp_path, "pipeline", str(model), "--builder", "docker", "--python-version", "3.9")
    assert (engine.returncode, engine.stderr.splitlines()[0]) == (
        2, "error: --python-version needs --builder oci")


@pytest.mark.parametrize(("name", "version"), [
    ("hydrosphere/serving-runtime-python-3.7:3.0.0", "3.7"),
    ("python:3.12-slim", "3.12"),
    ("registry.example:5000/ml/py37:1", "3.7"),
    ("acme/runtime-py310:2", "3.10"),
    ("acme/python3.10-cuda:1", "3.10"),
    ("acme/cpython-3.9:1", "3.9"),
    ("acme/python-2.7:1", "2.7"),
    ("acme/runtime-python:3.0.0", None),  # the runtime's own version, not a Python
    ("acme/numpy37:1", None),
    ("hydro-ci-test/busybox:1", None),
])
def test_a_python_in_a_runtime_name(name: str, version: str | None) -> None:
    assert python_in_name(name) == version


def test_the_default_says_that_it_is_one() -> None:
    chosen = runtime_python(ImageConfig.empty(), "busybox")
    assert (chosen.version, chosen.source.startswith("the default")) == ("3.11", True)
    with pytest.raises(UsageError, match="contradicts the runtime's name acme/py37"):
        runtime_python(ImageConfig.empty(), "acme/py37:1", "3.8")
    assert runtime_python(ImageConfig.empty(), "acme/py37:1", "3.7.4").version == "3.7"
