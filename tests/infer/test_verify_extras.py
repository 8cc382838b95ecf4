"""`contract verify` without NumPy: the hint names the extra of the model's own framework.

NumPy stays installed: the child process makes ``import numpy`` fail, as a missing install does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hydro_ci.infer.detect import Format, ModelFile
from hydro_ci.infer.verify import numpy_hint
from tests.infer.helpers import FIXTURES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def verify_without_numpy(folder: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "sys.modules['numpy'] = None  # import numpy now raises ImportError\n"
        "from hydro_ci.cli import main\n"
        f"sys.exit(main(['contract', 'verify', {str(folder)!r}]))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_onnx_example_names_the_onnx_extra(tmp_path: Path) -> None:
    folder = tmp_path / "onnx-linear"
    shutil.copytree(EXAMPLES / "onnx-linear", folder)
    done = verify_without_numpy(folder)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "numpy" in done.stderr and "onnx model" in done.stderr
    assert "hint: pip install 'hydro-ci[onnx]'" in done.stderr and "sklearn" not in done.stderr
    assert "Traceback" not in done.stderr


def test_sklearn_model_names_the_sklearn_extra(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "sklearn_logreg_joblib", folder)
    done = verify_without_numpy(folder)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "hint: pip install 'hydro-ci[sklearn]'" in done.stderr


def test_a_format_verify_cannot_load_says_so_before_asking_for_numpy(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "torchscript_model", folder)
    (folder / "serving.yaml").write_text(
        "kind: Model\nname: m\ncontract:\n  inputs:\n    x: {shape: [-1], type: float32}\n"
        "  outputs:\n    y: {shape: [-1], type: float32}\n"
    )
    done = verify_without_numpy(folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot load" in done.stderr and "numpy" not in done.stderr


@pytest.mark.parametrize(("fmt", "hint"), [
    (Format.onnx, "pip install 'hydro-ci[onnx]'"),
    (Format.sklearn, "pip install 'hydro-ci[sklearn]'"),
    (Format.saved_model, "pip install 'hydro-ci[tensorflow]'"),
    (Format.keras, "pip install 'hydro-ci[tensorflow]'"),
    (Format.keras_h5, "pip install 'hydro-ci[tensorflow]'"),
    # the torch extra does not bring NumPy (torch does not depend on it)
    (Format.torch_export, "pip install 'hydro-ci[torch]'"),  # the extra brings numpy too
])
def test_numpy_hint_follows_the_model_format(fmt: Format, hint: str) -> None:
    assert numpy_hint(ModelFile(Path("model"), fmt)) == hint


def test_numpy_hint_for_a_python_runtime() -> None:
    assert numpy_hint(None) == "pip install numpy"
