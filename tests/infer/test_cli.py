"""`hydro-ci contract infer` as a user runs it: a subprocess, real fixture files, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infer.helpers import FIXTURES, as_plain, expected, expected_plain, fixture_dirs

FRAMEWORKS = ("tensorflow", "torch", "keras", "sklearn", "onnx", "tf_keras", "jax", "pyspark")


def infer(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hydro_ci", "contract", "infer", *map(str, args)],
        capture_output=True, text=True, timeout=120,
    )


def test_json_output_has_framework_and_contract() -> None:
    folder = FIXTURES / "keras_functional_keras"
    done = infer(folder)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["framework"] == "keras"
    assert data["name"] == "keras_functional_keras"
    from hydro_ci.contract.jsonform import contract_from_dict

    got = contract_from_dict(data).primary
    assert as_plain(got) == expected_plain(expected(folder)["signatures"][0])


def test_prototxt_and_yaml_outputs_round_trip() -> None:
    import yaml
    from google.protobuf import text_format

    from hydro_ci._proto import contract_pb2
    from hydro_ci.contract.formats import from_yaml
    from hydro_ci.contract.proto import from_message

    folder = FIXTURES / "tf_module_multi"
    done = infer(folder, "--format", "prototxt", "--signature", "encode")
    assert done.returncode == 0, done.stderr
    msg = text_format.Parse(done.stdout, contract_pb2.ModelSignature())
    sig = from_message(msg)
    want = next(s for s in expected(folder)["signatures"] if s["name"] == "encode")
    assert sig.name == "encode" and as_plain(sig) == expected_plain(want)

    done = infer(folder, "--format", "yaml")
    assert done.returncode == 0, done.stderr
    section = yaml.safe_load(done.stdout)["contract"]
    assert section["inputs"]["count"] == {"shape": "scalar", "type": "int64"}
    sig = from_yaml(done.stdout)
    want = next(s for s in expected(folder)["signatures"] if s["name"] == "serving_default")
    assert sig.name == "serving_default" and as_plain(sig) == expected_plain(want)


def test_write_puts_contract_prototxt_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(FIXTURES / "onnx_torch_dynamic_batch", folder)
    done = infer(folder, "--write")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    text = (folder / "contract.prototxt").read_text()
    assert 'name: "token_ids"' in text and "dtype: DT_INT64" in text


def test_unknown_signature_is_one_line_exit_1() -> None:
    done = infer(FIXTURES / "tf_module_multi", "--signature", "nope")
    assert done.returncode == 1
    assert "no signature 'nope'" in done.stderr and "'encode'" in done.stderr
    assert "Traceback" not in done.stderr


def test_never_imports_a_framework() -> None:
    """Every fixture inferred in one process: no ML framework module is ever loaded."""
    dirs = [str(d) for d in fixture_dirs()]
    code = (
        "import sys, contextlib, io\n"
        "from hydro_ci.cli import main\n"
        f"for d in {dirs!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "        assert main(['contract', 'infer', d]) == 0, d\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r})\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def _broken_copies(tmp_path: Path) -> list[tuple[str, Path]]:
    """(kind, model folder) pairs: every format truncated, emptied and filled with garbage."""
    sources = {
        "saved_model.pb": FIXTURES / "tf_module_multi" / "saved_model.pb",
        "saved_model.pbtxt": FIXTURES / "tf_module_multi_pbtxt" / "saved_model.pbtxt",
        "model.onnx": FIXTURES / "onnx_torch_dynamic_batch" / "model.onnx",
        "model.keras": FIXTURES / "keras_functional_keras" / "model.keras",
        "model.h5": FIXTURES / "keras_functional_h5" / "model.h5",
        "model.pt2": FIXTURES / "torch_export_dynamic_batch" / "model.pt2",
        "model.joblib": FIXTURES / "sklearn_pipeline_frame_joblib" / "model.joblib",
        "model.pkl": FIXTURES / "sklearn_ridge_pickle" / "model.pkl",
    }
    cases = []
    for name, source in sources.items():
        data = source.read_bytes()
        for kind, content in (("truncated", data[: len(data) // 2]), ("empty", b""),
                              ("garbage", bytes(range(256)) * 8)):
            folder = tmp_path / f"{kind}-{name}"
            folder.mkdir()
            (folder / name).write_bytes(content)
            cases.append((f"{kind} {name}", folder / name))
    return cases


def test_broken_files_give_one_located_line(tmp_path: Path) -> None:
    failures = []
    for label, model in _broken_copies(tmp_path):
        done = infer(model.parent)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        ok = (done.returncode == 1 and "Traceback" not in done.stderr and len(errors) == 1
              and str(model) in errors[0])
        if not ok:
            failures.append(f"{label}: rc={done.returncode} {done.stderr.strip()[:300]}")
    assert not failures, "\n".join(failures)


def test_torchscript_asks_for_a_declared_contract() -> None:
    done = infer(FIXTURES / "torchscript_model")
    assert done.returncode == 1
    assert "record no input or output shapes" in done.stderr and "declare the contract" in done.stderr


def test_python_runtime_folder_says_declared_contract_is_the_contract(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "func_main.py").write_text("def predict(x):\n    return {'y': x}\n")
    done = infer(tmp_path)
    assert done.returncode == 1
    assert "func_main.py" in done.stderr and "declared contract is the contract" in done.stderr


@pytest.mark.parametrize("missing", ["does-not-exist", ""])
def test_missing_or_empty_folder(tmp_path: Path, missing: str) -> None:
    target = tmp_path / missing if missing else tmp_path
    done = infer(target)
    # a path that does not exist is a usage error (2), as in every verb; an empty folder is 1
    assert done.returncode == (2 if missing else 1) and "Traceback" not in done.stderr
    assert str(target) in done.stderr


@pytest.mark.parametrize("damage", ["garbage-root", "missing-stage", "truncated-stage"])
def test_broken_spark_metadata_is_one_located_line(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "pipeline"
    shutil.copytree(FIXTURES / "spark_pipeline", folder, ignore=shutil.ignore_patterns("expected.json"))
    stage = sorted((folder / "stages").iterdir())[1] / "metadata" / "part-00000"
    if damage == "garbage-root":
        target = folder / "metadata" / "part-00000"
        target.write_bytes(b"\x00\xff garbage")
    elif damage == "missing-stage":
        target = stage
        target.unlink()
    else:
        target = stage
        target.write_text(stage.read_text()[:40])
    done = infer(folder)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert str(target) in line
