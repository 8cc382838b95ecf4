"""Every bad input of the format gives exactly one located problem with the right rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hydro_ci.errors import ProblemsError
from hydro_ci.infer.check import check_model_folder, load_model_folder
from tests.contract.helpers import PROTOTXT, SERVING, make_folder, position

# (id, text replaced in serving.yaml, replacement, rule, where the problem is: text in the new file)
SERVING_CASES = [
    ("unknown-top-key", "install-command:", "install-comand:", "unknown-key", "install-comand"),
    ("unknown-field-key", "profile: numerical", "profil: numerical", "unknown-key", "profil:"),
    ("unknown-contract-key", "  name: infer", "  name: infer\n  input: {}", "unknown-key", "input:"),
    ("unknown-dtype", "float32", "float33", "unknown-dtype", "float33"),
    ("shape-string", "[-1, 3]", "vector", "bad-shape", "vector"),
    ("shape-capitalised", "[-1, 3]", "Scalar", "bad-shape", "Scalar"),
    ("shape-float-dim", "[-1, 3]", "[-1, 3.5]", "bad-shape", "3.5"),
    ("shape-string-dim", "[-1, 3]", "[-1, '3']", "bad-shape", "'3'"),
    ("shape-bool-dim", "[-1, 3]", "[true]", "bad-shape", "true"),
    ("shape-below-minus-one", "[-1, 3]", "[-2, 3]", "bad-shape", "-2"),
    ("shape-mapping", "[-1, 3]", "{a: 1}", "bad-shape", "{a: 1}"),
    ("duplicate-field", "profile: numerical}\n",
     "profile: numerical}\n    x: {shape: scalar, type: int32}\n", "duplicate-field", "x: {shape: scalar"),
    ("empty-inputs", "  inputs:\n    x: {shape: [-1, 3], type: float32, profile: numerical}\n",
     "  inputs: {}\n", "empty-inputs", "inputs"),
    ("missing-outputs", "  outputs:\n    y: {shape: scalar, type: int64}\n", "", "empty-outputs", "contract"),
    ("bad-name", "name: demo", "name: Demo_Model", "bad-name", "Demo_Model"),
    ("bad-name-start", "name: demo", "name: -demo", "bad-name", "-demo"),
    ("runtime-no-tag", '3.7:3.0.0"', '3.7"', "bad-runtime", '"hydrosphere'),
    ("runtime-not-reference", '"hydrosphere/serving-runtime-python-3.7:3.0.0"', '"Python 3!"',
     "bad-runtime", '"Python'),
    ("payload-missing", '"requirements.txt"]', '"requirements.txt", "model.pkl"]', "payload-missing",
     '"model.pkl"'),
    ("payload-empty", '"requirements.txt"]', '"requirements.txt", ""]', "payload-missing", '""]'),
    # absolute paths and '..' resolve as Hydrosphere resolved them; outside the repository is refused
    ("payload-absolute", '"requirements.txt"]', '"requirements.txt", "/etc/hosts"]', "payload-escapes",
     '"/etc/hosts"'),
    ("payload-parent", '"requirements.txt"]', '"requirements.txt", "src/../../x"]', "payload-missing",
     '"src/../../x"'),

    ("install-newline", '"pip install -r requirements.txt"', '"pip install -r\\nrequirements.txt"',
     "install-command", '"pip install'),
    ("install-folded-block", 'install-command: "pip install -r requirements.txt"',
     "install-command: >\n  pip install -r requirements.txt", "install-command", ">"),
    ("install-nul", '"pip install -r requirements.txt"', '"pip install\\0x"', "install-command", '"pip'),
    ("signature-not-function", "name: infer", "name: predict", "signature-not-function", "predict"),
    ("bad-kind", "kind: Model", "kind: Application", "bad-kind", "Application"),
    ("duplicate-key", "name: demo", "name: demo\nname: other", "duplicate-key", "name: other"),
    ("type-and-subfields", "type: int64}", "type: int64, subfields: {a: {type: int8}}}", "bad-field",
     "int64,"),
    ("no-type", "{shape: scalar, type: int64}", "{shape: scalar}", "bad-field", "y:"),
    ("payload-not-list", '["src/", "requirements.txt"]', '"src/"', "bad-type", '"src/"'),
    ("field-not-mapping", "{shape: scalar, type: int64}", "int64", "bad-type", "int64"),
    ("hydro-ci-not-mapping", "kind: Model", "kind: Model\nhydro-ci: [1]", "bad-type", "[1]"),
    ("metadata-nested", "kind: Model", "kind: Model\nmetadata: {a: {b: c}}", "bad-type", "{b: c}"),
    ("yaml-syntax", "payload: [", "payload: [[", "yaml-syntax", None),
    ("yaml-tag", "name: demo", "name: !secret demo", "yaml-tag", "!secret"),
    # several documents are read as hs apply reads them; each needs a kind
    ("document-without-kind", "kind: Model", "kind: Model\n---\nname: other", "bad-kind", "name: other"),
]


@pytest.mark.parametrize(("old", "new", "rule", "marker"), [c[1:] for c in SERVING_CASES],
                         ids=[c[0] for c in SERVING_CASES])
def test_one_located_problem(tmp_path: Path, old: str, new: str, rule: str, marker: str | None) -> None:
    assert old in SERVING
    text = SERVING.replace(old, new, 1)
    folder = make_folder(tmp_path, text)
    problems = check_model_folder(folder)
    assert [p.rule for p in problems] == [rule], [p.render() for p in problems]
    location = problems[0].location
    assert location.path.endswith("serving.yaml")
    if marker is not None:
        assert (location.line, location.column) == position(text, marker)
    else:
        assert location.line > 0
    rendered = problems[0].render()
    assert "\n" not in rendered and rendered.endswith(f"[{rule}]")
    with pytest.raises(ProblemsError) as exc:
        load_model_folder(folder)
    assert exc.value.problems == problems


def test_the_base_folder_is_valid(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    assert check_model_folder(folder) == []
    loaded = load_model_folder(folder / "serving.yaml")  # a file inside the folder works too
    assert loaded.name == "demo" and loaded.contract is not None
    assert loaded.root == folder and loaded.root.is_absolute()
    assert loaded.contract.primary.name == "infer"


def test_did_you_mean(tmp_path: Path) -> None:
    text = SERVING.replace("install-command:", "install-comand:").replace("float32", "flot32")
    messages = [p.message for p in check_model_folder(make_folder(tmp_path, text))]
    assert any("did you mean 'install-command'" in m for m in messages), messages
    assert any("did you mean 'float32'" in m for m in messages), messages


def test_payload_symlink_escaping(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, SERVING.replace('"requirements.txt"]', '"requirements.txt", "data"]'))
    os.symlink(tmp_path, folder / "data")
    problems = check_model_folder(folder)
    assert [p.rule for p in problems] == ["payload-escapes"]
    text = (folder / "serving.yaml").read_text()
    assert (problems[0].location.line, problems[0].location.column) == position(text, '"data"')


def test_symlink_inside_a_payload_folder_escaping(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    os.symlink("/etc/hostname", folder / "src" / "host")
    problems = check_model_folder(folder)
    assert [p.rule for p in problems] == ["payload-escapes"]
    assert "src/host" in problems[0].message


def test_symlink_staying_inside_is_fine(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    os.symlink("../requirements.txt", folder / "src" / "reqs")
    assert check_model_folder(folder) == []


def test_non_utf8_file_is_located(tmp_path: Path) -> None:
    data = SERVING.encode().replace(b"name: demo", b"name: d\xe9mo")
    problems = check_model_folder(make_folder(tmp_path, data))
    assert [(p.rule, p.location.line, p.location.column) for p in problems] == [("encoding", 2, 8)]


def test_every_problem_is_collected(tmp_path: Path) -> None:
    text = (SERVING.replace("float32", "float33").replace("name: demo", "name: Demo")
            .replace("scalar", "vector").replace("install-command:", "install-comand:"))
    rules = sorted(p.rule for p in check_model_folder(make_folder(tmp_path, text)))
    assert rules == ["bad-name", "bad-shape", "unknown-dtype", "unknown-key"]


# --- contract.prototxt ----------------------------------------------------------------------------

PROTOTXT_CASES = [
    ("unknown-key", 'name: "x"', 'nme: "x"', "unknown-key", 'nme'),
    ("syntax", "shape { dims: -1 dims: 3 }", "shape { dims: -1 dims: 3", "prototxt-syntax", None),
    ("bad-enum", "DT_FLOAT", "DT_FLOT", "prototxt-syntax", "DT_FLOT"),
    ("dim-below-minus-one", "dims: -1 dims: 3", "dims: -1 dims: -3", "bad-shape", "shape"),
    ("duplicate-field", 'outputs {\n  name: "y"', 'outputs {\n  name: "y"\n  dtype: DT_INT64\n}\n'
     'outputs {\n  name: "y"', "duplicate-field", 'name: "y"\n  dtype: DT_INT64\n  shape'),
    ("no-dtype", "  dtype: DT_INT64\n", "", "bad-field", 'outputs'),
    ("unknown-dtype-number", "DT_INT64", "99", "unknown-dtype", "dtype: 99"),
    ("empty-outputs", 'outputs {\n  name: "y"\n  dtype: DT_INT64\n  shape {}\n}\n', "", "empty-outputs",
     None),
]


@pytest.mark.parametrize(("old", "new", "rule", "marker"), [c[1:] for c in PROTOTXT_CASES],
                         ids=[c[0] for c in PROTOTXT_CASES])
def test_prototxt_one_located_problem(tmp_path: Path, old: str, new: str, rule: str,
                                      marker: str | None) -> None:
    assert old in PROTOTXT
    text = PROTOTXT.replace(old, new, 1)
    folder = make_folder(tmp_path, serving=None, prototxt=text)
    problems = check_model_folder(folder)
    assert [p.rule for p in problems] == [rule], [p.render() for p in problems]
    location = problems[0].location
    assert location.path.endswith("contract.prototxt")
    if marker is not None:
        assert (location.line, location.column) == position(text, marker)


def test_prototxt_only_folder_takes_the_folder_name(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, serving=None, prototxt=PROTOTXT, name="my-model")
    loaded = load_model_folder(folder)
    assert loaded.name == "my-model"
    assert loaded.contract is not None and loaded.contract.primary.inputs[0].shape == (-1, 3)


def test_prototxt_only_folder_with_a_bad_folder_name(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, serving=None, prototxt=PROTOTXT, name="My Model")
    problems = check_model_folder(folder)
    assert [p.rule for p in problems] == ["bad-name"]
    assert "folder name" in problems[0].message


def test_agreeing_declarations_are_fine(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, prototxt=PROTOTXT)
    assert check_model_folder(folder) == []


def test_disagreeing_declarations_name_both_places(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, prototxt=PROTOTXT.replace("DT_FLOAT", "DT_DOUBLE"))
    problems = check_model_folder(folder)
    assert [p.rule for p in problems] == ["contract-mismatch"]
    p = problems[0]
    assert p.location.path.endswith("serving.yaml")
    assert (p.location.line, p.location.column) == position(SERVING, "float32")
    line, column = position(PROTOTXT, "DT_FLOAT")
    assert f"contract.prototxt:{line}:{column - 7}" in p.message  # the dtype key of that field
    assert "input 'x' has dtype float32 here, float64 there" in p.message


def test_disagreeing_field_sets(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, prototxt=PROTOTXT.replace('name: "x"', 'name: "z"'))
    problems = check_model_folder(folder)
    assert [p.rule for p in problems] == ["contract-mismatch"]
    assert "'x' only here; 'z' only there" in problems[0].message


def test_prototxt_list_form_is_located(tmp_path: Path) -> None:
    text = ('signature_name: "infer"\ninputs: [{name: "x" dtype: DT_FLOAT shape {dims: [-1, 3]}},\n'
            '         {name: "x" dtype: DT_INT32}]\noutputs {name: "y" dtype: DT_INT64}\n')
    problems = check_model_folder(make_folder(tmp_path, serving=None, prototxt=text))
    assert [(p.rule, p.location.line, p.location.column) for p in problems] == [("duplicate-field", 3, 11)]


def test_symlink_loops_in_the_payload_are_problems_not_a_crash(tmp_path: Path) -> None:
    """A loop inside a shipped folder made Path.resolve raise RuntimeError: exit 3 with a traceback."""
    folder = make_folder(tmp_path, SERVING.replace('"requirements.txt"]', '"requirements.txt", "loop"]'))
    os.symlink("loop2", folder / "src" / "loop1")
    os.symlink("loop1", folder / "src" / "loop2")
    os.symlink("loop", folder / "loop")
    problems = check_model_folder(folder)
    hint = "remove the link, or leave it out with a line in .hydroignore"
    assert [(p.rule, p.message) for p in problems] == [
        ("payload-missing", "payload entry 'loop' is a broken symlink (or a loop)"),
        # the links in the shipped src/: render refuses them, so check reports them too
        ("payload-loop", f"payload file src/loop1 is a symlink loop; {hint}"),
        ("payload-loop", f"payload file src/loop2 is a symlink loop; {hint}")]
