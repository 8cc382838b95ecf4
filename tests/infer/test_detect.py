"""Detection is by content: a model file keeps its format under any name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hydro_ci.infer import infer_folder
from hydro_ci.infer.detect import Format, find_model_files, sniff
from tests.infer.helpers import FIXTURES


@pytest.mark.parametrize(("fixture", "name", "fmt"), [
    ("onnx_torch_dynamic_batch", "model.onnx", Format.onnx),
    ("keras_functional_keras", "model.keras", Format.keras),
    ("keras_functional_h5", "model.h5", Format.keras_h5),
    ("torch_export_dynamic_batch", "model.pt2", Format.torch_export),
    ("torchscript_model", "model.pt", Format.torchscript),
    ("sklearn_logreg_joblib", "model.joblib", Format.sklearn),
    ("sklearn_ridge_pickle", "model.pkl", Format.sklearn),
])
def test_renamed_model_is_still_found(tmp_path: Path, fixture: str, name: str, fmt: Format) -> None:
    target = tmp_path / "trained.model"
    shutil.copy(FIXTURES / fixture / name, target)
    assert sniff(target) is fmt
    if fmt is not Format.torchscript:
        assert infer_folder(tmp_path).framework == fmt.framework


def test_text_files_are_not_models(tmp_path: Path) -> None:
    for name, text in (("requirements.txt", "numpy\n"), ("serving.yaml", "kind: Model\n"),
                       ("README.md", "# hi\n"), ("contract.prototxt", 'signature_name: "x"\n')):
        (tmp_path / name).write_text(text)
    assert find_model_files(tmp_path) == []


def test_priority_and_notes(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tf_predict_only" / "saved_model.pb", tmp_path)
    shutil.copy(FIXTURES / "onnx_skl_classifier" / "model.onnx", tmp_path)
    result = infer_folder(tmp_path)
    assert result.framework == "tensorflow"
    assert any("model.onnx" in n for n in result.notes)


def test_variables_and_src_are_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "variables").mkdir()
    shutil.copy(FIXTURES / "onnx_skl_classifier" / "model.onnx", tmp_path / "variables" / "x.onnx")
    assert find_model_files(tmp_path) == []


def test_fifos_are_not_read(tmp_path: Path) -> None:
    """A named pipe called like a model would block the scan (and `contract check`) forever."""
    import os
    import subprocess
    import sys

    os.mkfifo(tmp_path / "model.onnx")
    os.mkfifo(tmp_path / "saved_model.pb")
    code = "import sys, pathlib; from hydro_ci.infer.detect import find_model_files; " \
           "print(find_model_files(pathlib.Path(sys.argv[1])))"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
