"""The CLI verbs end to end: contract diff (files, GIT_REF:path, images) and version next."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.cli import main
from hydro_ci.contract.jsonform import contract_to_dict
from hydro_ci.contract.model import Contract, DType, Field, Signature

from .gitrepo import make_remote, serving_yaml, sh
from .images import client, contract_image, push

OLD = Contract("titanic", (Signature("predict", (Field("x", DType.float32, (-1, 3)),),
                                     (Field("y", DType.float32, (-1,)),)),))
NEW = Contract("titanic", (Signature("predict", (Field("x", DType.float32, (-1, 3)),),
                                     (Field("y", DType.float32, (-1,)), Field("p", DType.float64, ()))),))
BREAKING = Contract("titanic", (Signature("predict", (Field("x", DType.float32, (8, 3)),),
                                          (Field("y", DType.float32, (-1,)),)),))


def write_json(path: Path, contract: Contract) -> str:
    path.write_text(json.dumps(contract_to_dict(contract)))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_json_files_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = write_json(tmp_path / "old.json", OLD), write_json(tmp_path / "new.json", NEW)
    code, out, _ = run(capsys, "contract", "diff", old, new)
    assert code == 0
    assert "additive  predict.outputs.p: output 'p' added [output-added]" in out
    assert "summary: additive (minor bump), 1 change(s)" in out


@pytest.mark.parametrize(("new", "fail_on", "code"), [
    (NEW, None, 0), (NEW, "breaking", 0), (NEW, "additive", 1),
    (BREAKING, None, 0), (BREAKING, "breaking", 1), (OLD, "additive", 0)])
def test_diff_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str], new: Contract,
                      fail_on: str | None, code: int) -> None:
    args = ["contract", "diff", write_json(tmp_path / "o.json", OLD), write_json(tmp_path / "n.json", new)]
    assert run(capsys, *args, *(["--fail-on", fail_on] if fail_on else []))[0] == code


def test_diff_json_output_and_ignore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = write_json(tmp_path / "old.json", OLD), write_json(tmp_path / "new.json", BREAKING)
    code, out, _ = run(capsys, "contract", "diff", old, new, "--format", "json",
                       "--ignore", "input-dim-narrowed")
    data = json.loads(out)
    assert code == 0 and data["summary"] == "patch" and data["changes"] == []
    assert [c["rule"] for c in data["ignored"]] == ["input-dim-narrowed"]
    assert data["old"] == f"file {old}"


def test_diff_unknown_rule_and_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write_json(tmp_path / "old.json", OLD)
    code, _, err = run(capsys, "contract", "diff", old, old, "--ignore", "no-such-rule")
    assert code == 2 and "error: --ignore no-such-rule: unknown rule" in err  # a flag's value: usage
    code, _, err = run(capsys, "contract", "diff", old, str(tmp_path / "nope"))
    assert code == 2 and "no such folder or file, git ref or image" in err and "Traceback" not in err


def test_diff_git_ref(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_remote(tmp_path)
    write_json(first.path / "contract.json", OLD)
    first.commit("v1")
    sh(first.path, "tag", "v1")
    write_json(first.path / "contract.json", BREAKING)
    first.commit("v2")
    monkeypatch.chdir(first.path)
    code, out, _ = run(capsys, "contract", "diff", "v1:contract.json", "HEAD:contract.json",
                       "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"] == "breaking" and data["old"] == "git v1:contract.json"
    code, _, err = run(capsys, "contract", "diff", "v1:nothing.json", "HEAD:contract.json")
    assert code == 1 and "no contract at nothing.json in v1" in err
    (first.path / "bin.json").write_bytes(b'{"name": "\xff"}')
    first.commit("not UTF-8")
    code, _, err = run(capsys, "contract", "diff", "HEAD:bin.json", "v1:contract.json")
    assert code == 1
    assert err == ("HEAD:bin.json:1:11: error: not valid UTF-8 (byte 0xff); save the file as UTF-8 "
                   "[encoding]\n")


@pytest.mark.registry
def test_diff_image_label(registry: Any, unique_repo: str, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    c = client(registry.host, registry.username, registry.password)
    push(c, unique_repo, contract_image(OLD), ["1.0.0"])
    push(c, unique_repo, contract_image(None), ["1.0.1"])
    monkeypatch.setattr("sys.stdin", io.StringIO(registry.password))
    code, out, err = run(capsys, "contract", "diff", f"{registry.host}/{unique_repo}:1.0.0",
                         write_json(tmp_path / "n.json", NEW), "--format", "json",
                         "--username", registry.username, "--password-stdin")
    assert code == 0, err
    assert json.loads(out)["summary"] == "additive"
    monkeypatch.setattr("sys.stdin", io.StringIO(registry.password))
    code, _, err = run(capsys, "contract", "diff", f"{registry.host}/{unique_repo}:1.0.1",
                       write_json(tmp_path / "n.json", NEW), "--username", registry.username,
                       "--password-stdin")
    assert code == 1 and "no io.hydro-ci.contract label" in err


# --- needs the serving.yaml loader ------------------------------------------------------------


@pytest.fixture
def serving() -> None:
    pytest.importorskip("hydro_ci.contract.serving")


def test_diff_folders_and_git_tree(serving: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_remote(tmp_path)
    first.tag("titanic-v1.0.0", push=False)
    first.write("models/titanic/serving.yaml", serving_yaml(inputs={
        "x": "{shape: [-1, 3], type: float32}", "age": "{shape: scalar, type: int32}"}))
    first.commit("add an input")
    monkeypatch.chdir(first.path)
    code, out, _ = run(capsys, "contract", "diff", "titanic-v1.0.0:models/titanic", "models/titanic")
    assert code == 0 and "[input-added]" in out and "summary: breaking" in out


def test_version_next_cli(serving: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = make_remote(tmp_path)
    first.tag("titanic-v1.0.0", "titanic-vjunk")
    first.write("models/titanic/serving.yaml", serving_yaml(inputs={
        "x": "{shape: [-1, 3], type: float32}", "age": "{shape: scalar, type: int32}"}))
    first.commit("add an input")
    folder = str(first.path / "models/titanic")
    code, out, err = run(capsys, "version", "next", folder, "--branch", "main")
    assert code == 0, err
    assert out == "2.0.0\n"
    assert "input-added" in err and "note: skipped git tag titanic-vjunk" in err
    code, out, err = run(capsys, "version", "next", folder, "--branch", "feat", "--json", "--reserve")
    data = json.loads(out)
    assert code == 0, err
    assert data["version"] == "2.0.0-rc.1" and data["reserved"] is True
    assert data["previous"] == {"version": "1.0.0", "source": "git", "ref": "titanic-v1.0.0"}
    assert data["diff"]["summary"] == "breaking"
    assert (data["bump"]["change"], data["bump"]["step"], data["bump"]["note"]) == ("breaking", "major", None)
    assert "titanic-v2.0.0-rc.1" in sh(first.path, "ls-remote", "--tags", "origin")


def test_version_next_refuses_shallow_clone(serving: None, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from .gitrepo import clone

    first = make_remote(tmp_path)
    first.commit("second")
    first.push()
    shallow = clone(first.remote, tmp_path / "shallow", "--depth", "1")
    code, _, err = run(capsys, "version", "next", str(shallow.path / "models/titanic"))
    assert code == 1 and "shallow clone" in err and "fetch-depth: 0" in err


def test_version_next_registry_reserve_is_a_usage_error(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "version", "next", str(tmp_path), "--source", "registry", "--reserve")
    assert code == 2 and "no atomic create" in err


def test_diff_folder_without_declared_contract_uses_its_model_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The ONNX example declares no contract: its image carries the one read from model.onnx.
    example = Path(__file__).parents[2] / "examples" / "onnx-linear"
    old = write_json(tmp_path / "old.json", Contract("onnx-linear", (Signature("predict", (
        Field("features", DType.float32, (-1, 3)),), (Field("scores", DType.float32, (-1, 2)),)),)))
    code, out, _ = run(capsys, "contract", "diff", old, str(example), "--format", "json")
    assert code == 0
    assert json.loads(out)["summary"] == "patch"
    code, out, _ = run(capsys, "contract", "diff", old, str(example.parent / "iris-sklearn"),
                       "--format", "json")
    assert code == 0 and json.loads(out)["summary"] == "breaking"


def test_diff_checks_a_contract_file_like_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An empty contract.prototxt is an error (as in a folder), not a contract that lost every field;
    every problem is printed once, located, with the path as the user gave it."""
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "old.json", OLD)
    (tmp_path / "empty.prototxt").write_text("")
    code, out, err = run(capsys, "contract", "diff", "old.json", "empty.prototxt")
    assert code == 1 and out == ""
    assert err.splitlines() == ["empty.prototxt:1:1: error: the contract has no inputs [empty-inputs]",
                                "empty.prototxt:1:1: error: the contract has no outputs [empty-outputs]"]


def test_diff_contract_file_encoding_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "old.json", OLD)
    (tmp_path / "serving.yaml").write_bytes(b"kind: Model\ncontract: \xff\n")
    (tmp_path / "bom.prototxt").write_bytes(
        b'\xef\xbb\xbfsignature_name: "predict"\r\ninputs { name: "x" dtype: DT_FLOAT shape { dims: -1 '
        b'dims: 3 } }\r\noutputs { name: "y" dtype: DT_FLOAT shape { dims: -1 } }\r\n')
    code, _, err = run(capsys, "contract", "diff", "old.json", "serving.yaml")
    assert code == 1
    assert err == "serving.yaml:2:11: error: not valid UTF-8 (byte 0xff); save the file as UTF-8 [encoding]\n"
    code, out, _ = run(capsys, "contract", "diff", "old.json", "bom.prototxt")
    assert code == 0 and "0 change(s)" in out


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "x", "signatures": []}, "e.json: the contract has no signatures"),
    ({"name": "x", "signatures": [{"name": "p", "inputs": [{"name": "x", "dtype": "int32", "shape": "12"}],
                                   "outputs": []}]},
     "e.json: field 'x': shape must be a list of integers or null, not '12'"),
    ({"name": "x", "signatures": [{"name": "p", "inputs": [{"name": "x", "dtype": "int32", "shape": [1.5]}],
                                   "outputs": []}]},
     "e.json: field 'x': shape must be a list of integers or null, not [1.5]"),
    ({"name": "x", "signatures": [{"name": "p", "inputs": [{"name": "x", "dtype": "float99"}],
                                   "outputs": []}]},
     "e.json: field 'x': unknown dtype 'float99'"),
    ({"name": "x", "signatures": [{"name": "p", "inputs": [{"name": "x", "dtype": "int32", "shape": [-7]}],
                                   "outputs": [{"name": "y", "dtype": "int32"}]}]},
     "dimension -7 must be -1 (unknown) or a size from 0 to 9223372036854775807 [bad-shape]"),
    ({"name": "x", "signatures": [{"name": "p", "inputs": [{"name": "x", "dtype": "int32", "shape": [2**70]}],
                                   "outputs": [{"name": "y", "dtype": "int32"}]}]},
     f"dimension {2**70} must be -1 (unknown) or a size from 0 to 9223372036854775807 [bad-shape]"),
])
def test_diff_refuses_a_malformed_json_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], body: Any,
                                                message: str) -> None:
    """Never a wrong answer: a string shape "12" used to become [1, 2], -7 and no signature passed."""
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "old.json", OLD)
    (tmp_path / "e.json").write_text(json.dumps(body))
    code, out, err = run(capsys, "contract", "diff", "old.json", "e.json")
    assert code == 1 and out == "" and message in err and len(err.splitlines()) <= 2


def test_diff_git_ref_errors_say_which_part_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    write_json(outside / "new.json", NEW)
    code, _, err = run(capsys, "contract", "diff", "HEAD:models/titanic", "new.json")
    assert code == 2 and "is not inside a git work tree" in err
    repo = tmp_path / "repo"
    repo.mkdir()
    sh(repo, "init", "-q", "-b", "main")
    monkeypatch.chdir(repo)
    write_json(repo / "new.json", NEW)
    code, _, err = run(capsys, "contract", "diff", "HEAD:models/titanic", "new.json")
    assert code == 2
    assert "'HEAD' is not a commit, branch or tag of this repository (it has no commits yet)" in err
    sh(repo, "add", "-A")
    sh(repo, "commit", "-qm", "one")
    for spec, ref in (("titanic-v9.9.9:models/titanic", "titanic-v9.9.9"), ("HEAD~3:new.json", "HEAD~3"),
                      ("nope:models/titanic/serving.yaml", "nope"), ("--output=x:new.json", "--output=x")):
        code, out, err = run(capsys, "contract", "diff", "--", spec, "new.json")
        assert (code, out) == (2, ""), spec
        first = f"error: {spec}: {ref!r} is not a commit, branch or tag of this repository"
        assert err.splitlines()[0] == first
        assert err.splitlines()[1].startswith("hint: ")
    assert not (repo / "x").exists()


def test_diff_git_ref_folder_without_declared_contract_reads_its_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Like a folder in the work tree: no contract: section → the contract read from the model file."""
    import shutil

    from tests.infer.helpers import FIXTURES

    sh(tmp_path, "init", "-q", "-b", "main")
    folder = tmp_path / "models" / "onx"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "onnx_torch_dynamic_batch" / "model.onnx", folder)
    (folder / "serving.yaml").write_text('kind: Model\nname: onx\nruntime: "a/b:1"\n')
    sh(tmp_path, "add", "-A")
    sh(tmp_path, "commit", "-qm", "onnx model")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "contract", "diff", "HEAD:models/onx", "models/onx")
    assert code == 0, err
    assert out.startswith("summary: patch (patch bump), 0 change(s) from git HEAD:models/onx")


def test_version_next_refuses_an_unknown_remote_and_a_missing_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped --remote used to skip the 'tags missing from this clone' check silently."""
    first = make_remote(tmp_path)
    monkeypatch.chdir(first.path)
    code, out, err = run(capsys, "version", "next", "models/titanic", "--remote", "orgin")
    assert (code, out) == (2, "") and err.startswith("error: --remote orgin: no such remote in ")
    code, out, _ = run(capsys, "version", "next", "models/titanic", "--remote", "origin")
    assert (code, out) == (0, "0.1.0\n")
    code, _, err = run(capsys, "version", "next", "models/nope")
    assert code == 2 and err == "error: no such file or directory: models/nope\n"


def test_breaking_hook_refuses_a_ref_that_does_not_resolve(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped --against (or PRE_COMMIT_FROM_REF) made every folder look new: it always passed."""
    first = make_remote(tmp_path)
    first.write("models/titanic/serving.yaml", serving_yaml(inputs={"z": "{shape: [-1], type: int64}"}))
    monkeypatch.chdir(first.path)
    monkeypatch.delenv("PRE_COMMIT_FROM_REF", raising=False)
    assert run(capsys, "contract", "breaking", "models/titanic")[0] == 1  # the change is breaking
    code, out, err = run(capsys, "contract", "breaking", "models/titanic", "--against", "mian")
    assert (code, out) == (2, "")
    assert err.startswith("error: --against mian: not a commit, branch or tag of this repository\nhint: ")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "0123abcd")
    assert run(capsys, "contract", "breaking", "models/titanic")[0] == 2
    fresh = tmp_path / "fresh"
    (fresh / "m" / "src").mkdir(parents=True)
    (fresh / "m" / "src" / "func_main.py").write_text("def predict(**tensors):\n    return tensors\n")
    sh(fresh, "init", "-q")
    (fresh / "m" / "serving.yaml").write_text(serving_yaml("m"))
    monkeypatch.chdir(fresh)
    monkeypatch.delenv("PRE_COMMIT_FROM_REF")
    assert run(capsys, "contract", "breaking", "m")[0] == 0  # first commit: HEAD has nothing yet


def test_diff_ignore_flag_with_an_unknown_rule_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It was reported as a mistake in 'serving.yaml hydro-ci.diff.ignore' (exit 1), a file not involved."""
    old = write_json(tmp_path / "old.json", OLD)
    code, out, err = run(capsys, "contract", "diff", old, old, "--ignore", "profile-chnged")
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == ("error: --ignore profile-chnged: unknown rule; "
                                   "did you mean 'profile-changed'?")


def test_diff_reads_a_wide_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A contract of a frame with 20 000 named columns is over 1 MiB of JSON: still a contract file."""
    wide = Contract("wide", (Signature("predict", tuple(Field(f"column_{i}", DType.float64, (-1,))
                                                         for i in range(20_000)),
                                       (Field("y", DType.float64, (-1,)),)),))
    path = write_json(tmp_path / "wide.json", wide)
    assert Path(path).stat().st_size > 1 << 20
    code, out, err = run(capsys, "contract", "diff", path, path)
    assert code == 0 and "0 change(s)" in out, err


def test_bump_auto_with_no_contract_anywhere_is_one_line(serving: None, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    first = make_remote(tmp_path)
    first.tag("titanic-v1.0.0", push=False)
    first.write("models/titanic/serving.yaml", "kind: Model\nname: titanic\n")  # no contract, no model
    first.commit("drop the contract")
    code, out, err = run(capsys, "version", "next", str(first.path / "models/titanic"), "--branch", "main")
    assert code == 1 and out == ""
    assert "declares no contract and none can be read from its files" in err
    assert "--bump auto has nothing to compare" in err and "hint: " in err


def test_version_next_outside_git_is_a_release(open_registry: Any, unique_repo: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """No git work tree, no CI branch variable: no branch, so nothing makes it a pre-release."""
    c = client(open_registry.host, None, None)
    push(c, unique_repo, contract_image(OLD), ["1.0.0"])
    folder = tmp_path / "titanic"
    (folder / "src").mkdir(parents=True)
    (folder / "serving.yaml").write_text(serving_yaml())
    (folder / "src/func_main.py").write_text("def predict(x):\n    return {'y': x}\n")
    code, out, err = run(capsys, "version", "next", str(folder), "--source", "registry",
                         "--image", f"{open_registry.host}/{unique_repo}", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == "1.0.1" and data["prerelease"] is False and data["branch"] is None
    assert [t["tag"] for t in data["tags"]] == ["1.0.1", "1.0", "1", "latest"]
    assert any("not in a git work tree" in n for n in data["notes"])
