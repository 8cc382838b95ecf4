"""Attack: a name that is really a command, or a label that is really two.

A signature or field name holding a newline and ``::stop-commands::…`` passed ``contract check`` and
reached logs and GitHub annotations, where a line starting with ``::`` is a workflow command (h12b's
part escapes every value printed for GitHub; ``check`` now refuses the names). Metadata keys become
image labels: ``""``, a tab, ``=``, a duplicate or a control character in one passed ``check`` and
failed or misled later. Each is one located problem now.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hydro_ci._proto import onnx_model_pb2 as onnx_pb

from .conftest import make_model, run

INJECTED = "\\n::stop-commands::pwned\\n::error::owned"  # as written in YAML's double quotes


def _check(tmp_path: Path) -> list[str]:
    """The error lines of ``contract check`` (text), after checking its GitHub form is refused too
    and carries no injected workflow command."""
    github = run(["contract", "check", "model"], tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert github.returncode == 1 and "Traceback" not in github.stderr, github.stdout + github.stderr
    for line in (github.stdout + github.stderr).splitlines():
        assert not line.startswith(("::stop-commands", "::error::owned", "pwned")), line
    proc = run(["contract", "check", "model", "--format", "text"], tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if ": error: " in line]


@pytest.mark.parametrize(("old", "new", "what"), [
    ("  name: predict", f'  name: "predict{INJECTED}"', "signature name"),
    ("    features:", f'    "features{INJECTED}":', "field name"),
    ("    species:", '    "spe\\0cies":', "field name"),
    ("    species:", '    "spe\\u2028cies":', "field name"),
])
def test_contract_names_with_control_characters_are_refused(tmp_path: Path, old: str, new: str,
                                                            what: str) -> None:
    folder = make_model(tmp_path)
    text = (folder / "serving.yaml").read_text()
    (folder / "serving.yaml").write_text(text.replace(old, new, 1))
    errors = _check(tmp_path)
    assert any(f"error: {what} " in e and e.endswith("[control-character]") for e in errors), errors
    assert all(e.startswith("model/serving.yaml:") for e in errors)


def test_names_in_contract_prototxt_too(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    text = (folder / "serving.yaml").read_text()
    start, end = text.index("contract:"), text.index("metadata:")
    (folder / "serving.yaml").write_text(text[:start] + text[end:])
    (folder / "contract.prototxt").write_text(
        'signature_name: "predict"\n'
        'inputs { name: "features\\n::error::owned" dtype: DT_DOUBLE shape { dims: -1 dims: 4 } }\n'
        'outputs { name: "species" dtype: DT_INT64 shape { dims: -1 } }\n')
    errors = _check(tmp_path)
    assert any(e.startswith("model/contract.prototxt:2:") and e.endswith("[control-character]")
               for e in errors), errors


def test_names_read_from_a_model_file_are_refused_when_nothing_is_declared(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    text = (folder / "serving.yaml").read_text()
    start, end = text.index("contract:"), text.index("metadata:")
    (folder / "serving.yaml").write_text(text[:start] + text[end:])
    (folder / "model.joblib").unlink()
    (folder / "src" / "func_main.py").unlink()
    model = onnx_pb.ModelProto(ir_version=8)
    for side, name in ((model.graph.input, "x\n::error::owned"), (model.graph.output, "y")):
        value = side.add(name=name)
        value.type.tensor_type.elem_type = 1
        value.type.tensor_type.shape.dim.add(dim_value=3)
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    errors = _check(tmp_path)
    assert len(errors) == 1 and "field name 'x\\n::error::owned' holds a control character" in errors[0]
    assert errors[0].endswith("[control-character]")


@pytest.mark.parametrize(("entry", "why"), [
    ('"": empty', "metadata key '' is empty"),
    ('"a\\tb": tab', "metadata key 'a\\tb' holds a control character"),
    ('"team lead": x', "metadata key 'team lead' holds a blank"),
    ('"k=v": eq', "metadata key 'k=v' holds '='"),
    ("dataset: again", "metadata key 'dataset' appears twice"),
    ('"nul\\0": x', "metadata key 'nul\\x00' holds a control character"),
    ('"line\\nbreak": x', "metadata key 'line\\nbreak' holds a control character"),
    ('ok: "two\\nlines"', "metadata 'ok': the value must be single-line text"),
])
def test_metadata_keys_that_cannot_be_labels_are_located(tmp_path: Path, entry: str, why: str) -> None:
    folder = make_model(tmp_path)
    text = (folder / "serving.yaml").read_text()
    (folder / "serving.yaml").write_text(text.replace("  dataset: iris\n", f"  dataset: iris\n  {entry}\n"))
    errors = _check(tmp_path)
    assert len(errors) == 1 and why in errors[0] and errors[0].endswith("[bad-metadata]"), errors
    line = (folder / "serving.yaml").read_text().splitlines().index(f"  {entry}") + 1
    column = 7 if entry.startswith("ok:") else 3  # a value is located at the value, a key at the key
    assert errors[0].startswith(f"model/serving.yaml:{line}:{column}: error: ")
