"""``hydro-ci contract check`` and ``contract show`` as users run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hydro_ci.cli import main
from hydro_ci.contract import formats
from hydro_ci.contract.jsonform import contract_from_dict
from hydro_ci.infer.check import load_model_folder
from tests.contract.helpers import SERVING, make_folder, position

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OURS = ("titanic", "mobilenet", "face-detection")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _no_github(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.mark.parametrize("name", OURS)
def test_bundled_examples_are_clean(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert run(capsys, "contract", "check", str(EXAMPLES / name)) == (
        0, "", "1 model folder checked, 0 problems\n")


def test_a_parent_folder_is_searched(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "contract", "check", str(EXAMPLES))
    assert code == 0 and out == ""
    assert int(err.split()[0]) >= len(OURS)


def test_problems_exit_1_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = make_folder(tmp_path, SERVING.replace("float32", "float33").replace("name: demo", "name: Demo"))
    good = make_folder(tmp_path, name="good")
    code, out, err = run(capsys, "contract", "check", str(good), str(bad / "serving.yaml"))
    lines = out.splitlines()
    assert code == 1 and len(lines) == 2
    assert lines[0].endswith("error: model name 'Demo' must match ^[a-z0-9][a-z0-9_-]*$ [bad-name]")
    assert lines[0].startswith(f"{bad}/serving.yaml:2:7: ")
    assert lines[1].endswith("[unknown-dtype]")
    assert err == "2 model folders checked, 2 problems\n"


def test_paths_are_shown_relative_to_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_folder(tmp_path, SERVING.replace("name: demo", "name: Demo"))
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "contract", "check")  # default: .
    assert code == 1 and out.startswith("demo/serving.yaml:2:7: error: ")


def test_the_same_folder_is_checked_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = make_folder(tmp_path, SERVING.replace("name: demo", "name: Demo"), prototxt=None)
    (bad / "contract.prototxt").write_text('signature_name: "infer"\ninputs { name: "x" dtype: DT_FLOAT '
                                           'shape { dims: -1 dims: 3 } profile: NUMERICAL }\n'
                                           'outputs { name: "y" dtype: DT_INT64 shape {} }\n')
    code, out, _ = run(capsys, "contract", "check", str(bad / "serving.yaml"), str(bad / "contract.prototxt"))
    assert code == 1 and len(out.splitlines()) == 1


def test_github_format(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    bad = make_folder(tmp_path, SERVING.replace("float32", "float33"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = run(capsys, "contract", "check", str(bad))
    assert code == 1 and err == ""
    assert out == (f"::error file={bad}/serving.yaml,line=9,col=31,title=unknown-dtype::"
                   "unknown type 'float33' of 'x'; did you mean 'float32'?\n")
    code, out, _ = run(capsys, "contract", "check", "--format", "text", str(bad))
    assert out.startswith(f"{bad}/serving.yaml:9:31: error:")


def test_github_annotation_escapes() -> None:
    from hydro_ci.cli.output import github_annotation
    from hydro_ci.diagnostics import Location, Problem

    p = Problem(Location("a,b:c.yaml", 1, 2), "100% wrong\nreally", "r")
    assert github_annotation(p) == "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=r::100%25 wrong%0Areally"


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = make_folder(tmp_path, SERVING.replace("float32", "float33"))
    code, out, err = run(capsys, "contract", "check", "--format", "json", str(bad))
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["folders"] == [str(bad)]
    assert data["problems"] == [{"path": f"{bad}/serving.yaml", "line": 9, "column": 31, "severity": "error",
                                 "rule": "unknown-dtype",
                                 "message": "unknown type 'float33' of 'x'; did you mean 'float32'?"}]


def test_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "contract", "check", str(tmp_path / "nope"))
    assert (code, out) == (2, "") and err.startswith("error: no such file or directory: ")


def test_a_folder_without_models_is_a_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "contract", "check", str(tmp_path))
    assert code == 1 and out.endswith("[no-model-folder]\n")


def test_bad_flag_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "hydro_ci", "contract", "check", "--format", "xml"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


@pytest.mark.parametrize("name", OURS)
def test_show_json_is_the_declared_contract(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, _ = run(capsys, "contract", "show", str(EXAMPLES / name))
    assert code == 0
    assert contract_from_dict(json.loads(out)) == load_model_folder(EXAMPLES / name).contract


def test_show_json_form(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "contract", "show", str(EXAMPLES / "mobilenet"), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "mobilenet"
    assert data["signatures"][0]["inputs"] == [
        {"name": "image", "dtype": "float32", "shape": [-1, 224, 224, 3], "profile": "image"}]


@pytest.mark.parametrize("name", OURS)
def test_show_yaml_and_prototxt_read_back(capsys: pytest.CaptureFixture[str], name: str) -> None:
    sig = load_model_folder(EXAMPLES / name).contract.primary  # type: ignore[union-attr]
    code, out, _ = run(capsys, "contract", "show", str(EXAMPLES / name), "--format", "yaml")
    assert code == 0 and formats.from_yaml(out) == sig
    code, out, _ = run(capsys, "contract", "show", str(EXAMPLES / name), "--format", "prototxt")
    assert code == 0 and formats.from_prototxt(out) == sig


def test_show_a_broken_folder_lists_its_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = make_folder(tmp_path, SERVING.replace("float32", "float33").replace("name: demo", "name: Demo"))
    code, out, err = run(capsys, "contract", "show", str(bad))
    assert code == 1 and out == "" and len(err.splitlines()) == 2


def test_show_without_a_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder(tmp_path, "kind: Model\nname: demo\n")
    code, out, err = run(capsys, "contract", "show", str(folder))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "declares no contract" in err and "hint: " in err


def test_check_imports_no_framework_and_nothing_slow() -> None:
    """``contract check`` must start fast: no ML framework, no jinja2/docker/requests/rich."""
    code = (
        "import sys\n"
        "from hydro_ci.cli import main\n"
        f"rc = main(['contract', 'check', {str(EXAMPLES)!r}])\n"
        "banned = ('tensorflow', 'torch', 'onnx', 'onnxruntime', 'sklearn', 'keras', 'jinja2', 'docker',\n"
        "          'requests', 'rich', 'numpy', 'h5py')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
        "sys.exit(rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_internal_bug_is_exit_3_not_a_traceback_for_users(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from hydro_ci.contract import rules

    def broken(d: object) -> list[object]:
        raise RuntimeError("bug")

    monkeypatch.setattr(rules, "FOLDER_RULES", (broken,))
    code, _, err = run(capsys, "contract", "check", str(make_folder(tmp_path)))
    assert code == 3 and "internal error" in err


def test_a_stray_file_does_not_search_around_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_folder(tmp_path / "models", SERVING.replace("float32", "float33"))
    (tmp_path / "notes.txt").write_text("hello\n")
    code, out, _ = run(capsys, "contract", "check", str(tmp_path / "notes.txt"))
    assert code == 1 and out.endswith("[no-model-folder]\n") and "float33" not in out


def test_a_dimension_beyond_int64_is_called_too_large_not_negative(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "serving.yaml").write_text(
        'kind: Model\nruntime: "a/b:1"\ncontract:\n  inputs:\n    x: {shape: [99999999999999999999], '
        'type: int32}\n  outputs:\n    y: {shape: scalar, type: int32}\n')
    from hydro_ci.infer.check import check_model_folder

    [problem] = check_model_folder(folder)
    assert problem.message == ("shape of 'x': dimension 99999999999999999999 must be -1 (unknown) or a size "
                               "from 0 to 9223372036854775807")


def test_output_does_not_depend_on_the_order_of_the_paths(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pre-commit passes files in any order (and splits them): the report must not follow it."""
    a = make_folder(tmp_path, SERVING.replace("float32", "float33"), name="a")
    b = make_folder(tmp_path, SERVING.replace("name: demo", "name: Demo"), name="b")
    outputs = [run(capsys, "contract", "check", "--format", fmt, *order)[1]
               for fmt in ("text", "json") for order in ((str(a), str(b)), (str(b), str(a)))]
    assert outputs[0] == outputs[1] and outputs[2] == outputs[3]
    assert outputs[0].index(f"{a}/") < outputs[0].index(f"{b}/")
    assert json.loads(outputs[2])["folders"] == sorted(json.loads(outputs[2])["folders"])


def test_version_and_diff_settings_are_checked_where_they_are_written(tmp_path: Path) -> None:
    """They were read first by version next / contract diff: a typo passed check and the pre-commit hook."""
    from hydro_ci.infer.check import check_model_folder

    text = SERVING + "hydro-ci:\n  diff:\n    ignore: [profile-chnged]\n  version:\n    tags: ['{version']\n"
    folder = make_folder(tmp_path, text)
    problems = check_model_folder(folder)
    # each at the value that is wrong (they used to point at the diff:/version: keys)
    assert [(p.rule, p.location.line, p.location.column) for p in problems] == [
        ("bad-setting", *position(text, "profile-chnged")), ("bad-setting", *position(text, "'{version'"))]
    assert "did you mean 'profile-changed'?" in problems[0].message
    assert "'{version' is not a tag pattern" in problems[1].message
    assert check_model_folder(make_folder(tmp_path, SERVING + "hydro-ci:\n  version: {tags: ['{version}']}\n",
                                          name="fine")) == []


def test_a_serving_yaml_that_is_not_a_file_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dir" / "serving.yaml").mkdir(parents=True)
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "serving.yaml").symlink_to(tmp_path / "nowhere")
    code, out, _ = run(capsys, "contract", "check", str(tmp_path / "dir"), str(tmp_path / "link"))
    assert code == 1
    assert out.splitlines() == [
        f"{tmp_path}/dir: error: not a model folder: serving.yaml is not a file [no-model-folder]",
        f"{tmp_path}/link: error: not a model folder: serving.yaml is a broken link [no-model-folder]"]
    code, _, err = run(capsys, "contract", "show", str(tmp_path / "dir"))
    assert code == 1 and "serving.yaml is not a file" in err


def test_a_wide_contract_is_not_taken_for_an_alias_bomb(tmp_path: Path) -> None:
    """16 000 columns (a data-frame model) were refused: 'more than 100000 nodes ... (an alias bomb?)';
    and the contract.prototxt hydro-ci writes for them (over 1 MiB) was refused as too large."""
    from hydro_ci.infer.check import check_model_folder

    fields = [f"    column_{i}: {{shape: [-1], type: float64}}" for i in range(16_000)]
    text = SERVING.split("contract:")[0] + "contract:\n  name: infer\n  inputs:\n" + "\n".join(fields) \
        + "\n  outputs:\n    y: {shape: [-1], type: float64}\n"
    wide = make_folder(tmp_path, text, name="wide")
    assert check_model_folder(wide) == []
    prototxt = formats.to_prototxt(load_model_folder(wide).contract.primary)  # type: ignore[union-attr]
    assert len(prototxt) > 1 << 20
    from_prototxt = make_folder(tmp_path, None, prototxt=prototxt, name="wide2")
    assert check_model_folder(from_prototxt) == []
