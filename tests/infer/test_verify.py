"""`hydro-ci contract verify`: the model run for real against its contract (needs the frameworks)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infer.helpers import FIXTURES

pytestmark = pytest.mark.frameworks


def verify(folder: Path, *, block: str | None = None) -> subprocess.CompletedProcess[str]:
    # block: a framework made unimportable in the child, the real fault a missing install shows
    code = "import sys\n"
    if block:
        code += f"sys.modules[{block!r}] = None\n"
    code += f"from hydro_ci.cli import main\nsys.exit(main(['contract', 'verify', {str(folder)!r}]))\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def copy(fixture: str, tmp_path: Path) -> Path:
    folder = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, folder, ignore=shutil.ignore_patterns("expected.json"))
    return folder


@pytest.mark.parametrize("fixture", [
    "onnx_torch_dynamic_batch", "onnx_skl_pipeline_regressor", "torch_export_dynamic_batch",
    "sklearn_pipeline_frame_joblib", "sklearn_logreg_joblib", "keras_functional_keras",
])
def test_inferred_contract_holds(tmp_path: Path, fixture: str) -> None:
    pytest.importorskip("onnxruntime")
    done = verify(copy(fixture, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified with the model: ok" in done.stderr


def test_wrong_declared_dtype_is_caught(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    folder = copy("onnx_torch_dynamic_batch", tmp_path)
    (folder / "serving.yaml").write_text(
        "kind: Model\nname: m\nruntime: onnx-runtime:1\ncontract:\n  name: predict\n  inputs:\n"
        "    features: {shape: [-1, 4], type: float32}\n    token_ids: {shape: [-1, -1], type: int64}\n"
        "  outputs:\n    probabilities: {shape: [-1, 2], type: float32}\n"
        "    positive: {shape: [-1], type: int32}\n"
    )
    # contract check already reports the dtype from the file; verify shows the running model agrees
    done = verify(folder)
    assert done.returncode != 0
    assert "positive" in done.stdout + done.stderr and "bool" in done.stdout + done.stderr


def test_python_runtime_function_is_called(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "func_main.py").write_text(
        "import numpy as np\n\n\ndef infer(x):\n"
        "    return {'y': (x * 2).astype('int64'), 'n': np.int32(len(x))}\n"
    )
    (tmp_path / "serving.yaml").write_text(
        "kind: Model\nname: py\nruntime: hydrosphere/serving-runtime-python-3.7:3.0.0\ncontract:\n"
        "  name: infer\n  inputs:\n    x: {shape: [-1], type: float32}\n  outputs:\n"
        "    y: {shape: [-1], type: int64}\n    n: {shape: scalar, type: float64}\n"
    )
    done = verify(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "output 'n': declared dtype float64, the model returned int32 [verify-dtype]" in done.stdout
    assert "'y'" not in done.stdout


def test_missing_framework_exits_2_with_the_extra(tmp_path: Path) -> None:
    done = verify(copy("onnx_skl_classifier", tmp_path), block="onnxruntime")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pip install 'hydro-ci[onnx]'" in done.stderr and "Traceback" not in done.stderr


def test_missing_folder_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hydro_ci.cli import main

    assert main(["contract", "verify", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith(f"error: no such file or directory: {tmp_path / 'nope'}\n")
    (tmp_path / "file").write_text("")
    assert main(["contract", "verify", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'file'}: not a folder\n")


def test_python_runtime_with_a_model_file_runs_func_main(tmp_path: Path) -> None:
    # The runtime calls func_main, which loads the model file itself (relative to /model/files).
    pytest.importorskip("sklearn")
    example = Path(__file__).resolve().parents[2] / "examples" / "iris-sklearn"
    folder = tmp_path / "iris"
    shutil.copytree(example, folder, ignore=shutil.ignore_patterns(".hydro-ci", "dist"))
    done = verify(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified with the model: ok" in done.stderr
    # the function, not the estimator, answers: a wrong output name in the contract is caught
    text = (folder / "serving.yaml").read_text()
    (folder / "serving.yaml").write_text(text.replace("species:", "label:"))
    done = verify(folder)
    assert done.returncode == 1
    assert "output 'label' is declared but the model returned 'species'" in done.stdout
