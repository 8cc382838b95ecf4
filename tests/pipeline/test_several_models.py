"""A serving.yaml of several Model documents (and an Application), as `hs apply` took it: every
verb addresses one Model by name, the matrix lists each, their versions, tags and breaking-change
checks stay apart (paired by name at a git ref), the nox sessions run once per Model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, git, hydro_ci, init_repo, read_json
from .test_nox import nox

FIXTURES = REPO / "tests" / "fixtures" / "hydrosphere"
AMBIGUOUS = ("error: models/pair/serving.yaml holds 2 Model documents ('scorer', 'ranker'): "
             "name one with --model scorer or --model ranker\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """models/pair (the several_models fixture) and models/solo (one Model and an Application),
    committed; every Model builds on scratch, with no install (no network)."""
    root = tmp_path / "mono"
    shutil.copytree(FIXTURES / "several_models", root / "models" / "pair")
    shutil.copytree(FIXTURES / "multi_document", root / "models" / "solo")
    for serving in root.glob("models/*/serving.yaml"):
        lines = serving.read_text().splitlines(keepends=True)
        serving.write_text("".join("hydro-ci: {base-image: scratch}\n" + line if line.startswith("runtime:")
                                   else line for line in lines if not line.startswith("install-command")))
    return init_repo(root)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_check_passes_with_a_note_for_the_application(repo: Path) -> None:
    proc = hydro_ci(["contract", "check", "models/pair"], repo)
    assert proc.stdout == ("models/pair/serving.yaml:27:1: warning: document 3 is a kind: Application; "
                           "hydro-ci builds the Model documents and leaves the others to Hydrosphere's hs "
                           "apply [other-kind]\n")
    assert "1 model folder (2 Models) checked, 0 problems, 1 warning" in proc.stderr
    listed = json.loads(hydro_ci(["contract", "check", "--format", "json", "models"], repo).stdout)
    assert listed["models"] == [{"folder": "models/pair", "name": "scorer"},
                                {"folder": "models/pair", "name": "ranker"},
                                {"folder": "models/solo", "name": "multi_document"}]


@pytest.mark.parametrize("verb", [
    ["pipeline"], ["render"], ["build", "--version", "1.0.0"],
    ["contract", "show"], ["contract", "infer"], ["version", "next"],
])
def test_a_folder_of_several_models_without_a_name_is_one_usage_error(repo: Path, verb: list[str]) -> None:
    at = 2 if verb[0] in ("contract", "version") else 1
    proc = hydro_ci([*verb[:at], "models/pair", *verb[at:]], repo, check=False)
    assert (proc.returncode, proc.stderr) == (2, AMBIGUOUS)
    assert not (repo / ".hydro-ci").exists() and not (repo / "dist").exists()  # nothing built


def test_a_name_the_folder_does_not_hold_is_a_usage_error(repo: Path) -> None:
    proc = hydro_ci(["pipeline", "models/pair", "--model", "scorr"], repo, check=False)
    assert (proc.returncode, proc.stderr) == (2, "error: --model scorr: models/pair/serving.yaml has no "
                                                 "Model named 'scorr' (it has 'scorer', 'ranker'); did you "
                                                 "mean 'scorer'?\n")


def test_matrix_lists_each_model(repo: Path) -> None:
    proc = hydro_ci(["matrix", "models"], repo)
    assert json.loads(proc.stdout)["include"] == [{"model": "models/pair", "name": "scorer"},
                                                  {"model": "models/pair", "name": "ranker"},
                                                  {"model": "models/solo", "name": "multi_document"}]
    assert hydro_ci(["matrix", "--format", "lines", "models"], repo).stdout == "models/pair\nmodels/solo\n"
    # the build job passes the entry's name: each builds
    for entry in json.loads(proc.stdout)["include"]:
        hydro_ci(["pipeline", entry["model"], "--model", entry["name"], "--dry-run"], repo)


def version_next(repo: Path, model: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(hydro_ci(["version", "next", "models/pair", "--model", model,
                                                   "--json"], repo).stdout)
    return data


def test_each_model_has_its_own_versions_tags_and_contract_history(repo: Path) -> None:
    git(["tag", "scorer-v0.3.0"], repo)
    git(["tag", "ranker-v1.0.0"], repo)
    serving = repo / "models/pair/serving.yaml"
    edit(serving, "order: {shape: [-1], type: int32", "order: {shape: [-1], type: int64")  # ranker: breaking
    git(["commit", "-qam", "ranker returns int64"], repo)
    scorer, ranker = version_next(repo, "scorer"), version_next(repo, "ranker")
    # scorer against scorer at its tag (unchanged), ranker against ranker at its tag (a dtype changed)
    assert (scorer["version"], scorer["git_tag"]) == ("0.3.1", "scorer-v0.3.1")
    assert scorer["bump"] == {"change": "patch", "step": "patch", "note": None,
                              "text": "change=patch, step=patch",
                              "reason": "contract diff against scorer-v0.3.0: patch (no contract change); "
                                        "patch bump of 0.3.0"}
    assert (ranker["version"], ranker["git_tag"]) == ("2.0.0", "ranker-v2.0.0")
    assert (ranker["bump"]["change"], ranker["bump"]["step"]) == ("breaking", "major")  # type: ignore[index]
    assert "contract diff against ranker-v1.0.0: breaking" in ranker["bump"]["reason"]  # type: ignore[index]
    assert [c["rule"] for c in ranker["diff"]["changes"]] == ["dtype-changed"]  # type: ignore[index]


def test_the_breaking_hook_and_contract_diff_pair_models_by_name(repo: Path) -> None:
    serving = repo / "models/pair/serving.yaml"
    edit(serving, "items: {shape: [-1, 4]", "items: {shape: [-1, 5]")  # ranker: breaking
    proc = hydro_ci(["contract", "breaking", str(serving)], repo, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (problem,) = [line for line in proc.stdout.splitlines() if ": error: " in line]
    assert problem.startswith("models/pair/serving.yaml:15:1: error: breaking contract change of Model "
                              "'ranker' against HEAD (")
    assert "add 'hydro-ci: {breaking-change: intended}' to Model 'ranker' in serving.yaml" in problem
    assert "scorer" not in proc.stdout
    diff = hydro_ci(["contract", "diff", "HEAD:models/pair", "models/pair", "--model", "ranker"], repo)
    assert "summary: breaking (major bump), 1 change(s)" in diff.stdout
    same = hydro_ci(["contract", "diff", "HEAD:models/pair", "models/pair", "--model", "scorer"], repo)
    assert same.stdout == ("summary: patch (patch bump), 0 change(s) from git HEAD:models/pair to folder "
                           "models/pair\n")
    ambiguous = hydro_ci(["contract", "diff", "HEAD:models/pair", "models/solo"], repo, check=False)
    assert ambiguous.returncode == 2
    assert "HEAD:models/pair/serving.yaml holds 2 Model documents" in ambiguous.stderr


def test_model_files_are_read_from_each_models_own_payload(tmp_path: Path) -> None:
    """Two ONNX Models in one folder: each declared contract is compared with its own model file
    (the folder's first model file was compared with both), and one declaring none is read from its own."""
    folder = tmp_path / "onnx-pair"
    (folder / "linear").mkdir(parents=True)
    (folder / "tower").mkdir()
    shutil.copy(REPO / "examples/onnx-linear/model.onnx", folder / "linear/model.onnx")
    tower = REPO / "tests/fixtures/models/onnx_torch_dynamic_batch/model.onnx"
    shutil.copy(tower, folder / "tower/model.onnx")
    runtime = 'runtime: "hydrosphere/serving-runtime-onnx-1.18:3.0.0"\n'
    (folder / "serving.yaml").write_text(
        f"kind: Model\nname: linear\n{runtime}payload: [linear/model.onnx]\n"
        "contract:\n  inputs:\n    features: {shape: [-1, 3], type: float32}\n"
        "  outputs:\n    scores: {shape: [-1, 2], type: float32}\n"
        f"---\nkind: Model\nname: tower\n{runtime}payload: [tower/model.onnx]\n"
        "contract:\n  inputs:\n    features: {shape: [-1, 4], type: float32}\n"
        "    token_ids: {shape: [-1, -1], type: int64}\n"
        "  outputs:\n    probabilities: {shape: [-1, 2], type: float32}\n"
        "    positive: {shape: [-1], type: bool}\n"
        f"---\nkind: Model\nname: inferred\n{runtime}payload: [tower/]\n")
    check = hydro_ci(["contract", "check", "onnx-pair"], tmp_path, check=False)
    assert (check.returncode, check.stdout) == (0, ""), check.stdout + check.stderr
    def infer(model: str) -> dict[str, list[dict[str, list[dict[str, str]]]]]:
        data = json.loads(hydro_ci(["contract", "infer", "onnx-pair", "--model", model], tmp_path).stdout)
        return data  # type: ignore[no-any-return]

    assert [f["name"] for f in infer("inferred")["signatures"][0]["inputs"]] == ["features", "token_ids"]
    assert [f["name"] for f in infer("linear")["signatures"][0]["outputs"]] == ["scores"]
    write = hydro_ci(["contract", "infer", "onnx-pair", "--model", "linear", "--write"], tmp_path,
                     check=False)
    assert write.returncode == 2 and "every Model of the folder" in write.stderr
    hydro_ci(["pipeline", "onnx-pair", "--model", "inferred", "--base-image", "scratch"], tmp_path)
    chosen = read_json(tmp_path / ".hydro-ci/inferred/contract.json")
    assert chosen["source"] == "inferred"


def test_the_nox_sessions_run_once_per_model(repo: Path) -> None:
    (repo / "noxfile.py").write_text("from hydro_ci.integrations.nox import register_sessions\n"
                                     "register_sessions(globals())\n")
    proc = nox(["--no-venv", "-s", "build_model"], repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("scorer", "ranker", "multi_document"):
        summary = read_json(repo / f".hydro-ci/{name}/summary.json")
        assert summary["model"] == name and (repo / summary["layout"] / "index.json").is_file()
    assert "hydro-ci pipeline models/pair --model ranker" in proc.stderr
    clash = nox(["--no-venv", "-s", "render", "--", "--output", "ctx"], repo)
    assert clash.returncode != 0
    assert ("--output names one model's result, and there are 3 models (models/pair --model scorer, "
            "models/pair --model ranker, models/solo); name the model first: nox -s render -- "
            "models/pair --model scorer --output …") in clash.stderr


@pytest.mark.registry
@pytest.mark.slow
def test_verify_rebuilds_the_model_its_provenance_names(repo: Path, tmp_path: Path, open_registry: Any,
                                                        unique_repo: str) -> None:
    remote = tmp_path / "remote.git"
    git(["init", "-q", "--bare", "-b", "main", str(remote)], tmp_path)
    git(["remote", "add", "origin", str(remote)], repo)
    git(["push", "-q", "origin", "main"], repo)
    image = f"{open_registry.host}/{unique_repo}/ranker"
    hydro_ci(["pipeline", "models/pair", "--model", "ranker", "--image", image, "--push", "--provenance",
              "--insecure"], repo)
    digest = read_json(repo / ".hydro-ci/ranker/push.json")["digest"]
    result = json.loads(hydro_ci(["verify", f"{image}:0.1.0", "--json", "--insecure"], tmp_path).stdout)
    assert result["provenance"]["model"] == "ranker" and result["provenance"]["path"] == "models/pair"
    assert result["reproduced"] and result["rebuilt"] == digest
