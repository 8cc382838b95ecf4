"""The bundled examples are what their scripts write, and they work with their own frameworks."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker

from hydro_ci.infer.check import load_model_folder

from .conftest import EXAMPLES, copy_example, hydro_ci, read_json

MAX_BYTES = 2 * 1024 * 1024


@pytest.mark.parametrize("name", ["iris-sklearn", "onnx-linear", "tf-savedmodel"])
def test_small_valid_and_with_the_script_that_wrote_it(name: str) -> None:
    folder = EXAMPLES / name
    assert (folder / "make_model.py").is_file()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < MAX_BYTES
    loaded = load_model_folder(folder)
    assert loaded.name == name
    assert loaded.config.get("base-image") == "scratch"  # builds offline, see docs/pipeline.md


BYTE_EXACT = [("iris-sklearn", ["model.joblib"]), ("onnx-linear", ["model.onnx"])]
LOCK = EXAMPLES.parent / "locks/dev.txt"


def written_with(name: str) -> dict[str, str]:
    """The versions that wrote the example's model bytes (its script records them)."""
    lines = (EXAMPLES / name / "written-with.txt").read_text().split()
    return dict(line.split("==", 1) for line in lines)


def public(version: str) -> str:
    return version.split("+", 1)[0]  # 2.13.0+cpu and 2.13.0 write the same bytes


@pytest.mark.parametrize("name", [name for name, _ in BYTE_EXACT])
def test_the_lock_pins_the_versions_that_wrote_the_examples(name: str) -> None:
    """A lock update that moves a writer needs the example rewritten (python make_model.py)."""
    locked = {}
    for package, version, marker in re.findall(r"^([A-Za-z0-9._-]+)==([^\s;]+)(?: ; (.+))?$",
                                               LOCK.read_text(), re.MULTILINE):
        if not marker or Marker(marker).evaluate():  # the universal lock forks by Python version
            locked[package.lower()] = version
    for package, version in written_with(name).items():
        assert locked.get(package.lower()) == public(version), (
            f"locks/dev.txt pins {package}=={locked.get(package.lower())} but examples/{name} was "
            f"written with {version}: run `python examples/{name}/make_model.py` in the locked env")


@pytest.mark.frameworks
@pytest.mark.slow
@pytest.mark.parametrize("name, files", BYTE_EXACT)
def test_the_script_rewrites_the_same_bytes(name: str, files: list[str], tmp_path: Path) -> None:
    installed = {}
    for package in written_with(name):
        try:
            installed[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            installed[package] = "not installed"
    differ = {p: v for p, v in written_with(name).items() if public(installed[p]) != public(v)}
    if differ:
        pytest.skip(f"examples/{name} was written with " + ", ".join(f"{p}=={v}" for p, v in differ.items())
                    + "; here: " + ", ".join(f"{p} {installed[p]}" for p in differ)
                    + " (the locked env, nox -s tests, has them)")
    copy = copy_example(name, tmp_path)
    for f in files:
        (copy / f).unlink()
    subprocess.run([sys.executable, "make_model.py"], cwd=copy, check=True, capture_output=True)
    for f in files:
        assert (copy / f).read_bytes() == (EXAMPLES / name / f).read_bytes(), f


@pytest.mark.frameworks
@pytest.mark.slow
def test_the_savedmodel_script_gives_the_same_contract(tmp_path: Path) -> None:
    """TensorFlow's bytes are not reproducible; its signature is."""
    copy = copy_example("tf-savedmodel", tmp_path)
    shutil.rmtree(copy / "variables")
    (copy / "saved_model.pb").unlink()
    subprocess.run([sys.executable, "make_model.py"], cwd=copy, check=True, capture_output=True)
    ours = hydro_ci(["contract", "infer", str(copy), "--format", "json"], tmp_path).stdout
    committed = hydro_ci(["contract", "infer", str(EXAMPLES / "tf-savedmodel"), "--format", "json"],
                         tmp_path).stdout
    assert ours.replace(str(copy), "X") == committed.replace(str(EXAMPLES / "tf-savedmodel"), "X")


@pytest.mark.frameworks
def test_iris_func_main_serves_its_declared_contract(tmp_path: Path) -> None:
    """The python runtime calls predict(**inputs): outputs have the declared names, dtypes, shapes."""
    import numpy as np
    from sklearn.datasets import load_iris

    spec = importlib.util.spec_from_file_location("func_main", EXAMPLES / "iris-sklearn/src/func_main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    iris = load_iris()
    out = module.predict(features=iris.data[:10])
    assert set(out) == {"species"}
    assert out["species"].dtype == np.int64 and out["species"].shape == (10,)
    assert (out["species"] == iris.target[:10]).all()


@pytest.mark.frameworks
def test_onnx_example_runs_in_onnxruntime_as_inferred(tmp_path: Path, workdir: Path) -> None:
    import numpy as np
    import onnxruntime

    folder = copy_example("onnx-linear", tmp_path / "models")
    hydro_ci(["pipeline", str(folder), "--dry-run"], workdir)
    contract = read_json(workdir / ".hydro-ci/onnx-linear/contract.json")["contract"]
    sig = contract["signatures"][0]
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    x = np.zeros((5, sig["inputs"][0]["shape"][1]), dtype=np.float32)
    (y,) = session.run([sig["outputs"][0]["name"]], {sig["inputs"][0]["name"]: x})
    assert y.dtype == np.float32 and list(y.shape) == [5, sig["outputs"][0]["shape"][1]]
