"""`hydro-ci matrix` on a real git monorepo: which model folders changed since a ref."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .conftest import copy_example, git, hydro_ci, init_repo


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """models/{iris,onnx} plus models/shared (code linked into iris's payload) and templates/ (onnx's)."""
    root = tmp_path / "mono"
    models = root / "models"
    iris = copy_example("iris-sklearn", models)
    onnx = copy_example("onnx-linear", models)
    (models / "shared").mkdir()
    (models / "shared" / "features.py").write_text("SCALE = 1.0\n")
    os.symlink("../shared", iris / "common")
    serving = iris / "serving.yaml"
    serving.write_text(serving.read_text().replace('  - "src/"\n', '  - "src/"\n  - "common"\n'))
    (root / "templates").mkdir()
    (root / "templates" / "Dockerfile.j2").write_text('{% extends "hydro-ci/Dockerfile.j2" %}\n')
    serving = onnx / "serving.yaml"
    serving.write_text(serving.read_text().replace("hydro-ci:\n", "hydro-ci:\n  template: ../../templates\n"))
    (root / "README.md").write_text("models\n")
    init_repo(root)
    return root


def matrix(root: Path, *args: str) -> list[dict[str, str]]:
    proc = hydro_ci(["matrix", *args], root)
    data = json.loads(proc.stdout)
    assert proc.stdout.count("\n") == 1  # one line: ready for $GITHUB_OUTPUT
    return list(data["include"])


def test_without_a_ref_every_model_folder(monorepo: Path) -> None:
    assert matrix(monorepo) == [{"model": "models/iris-sklearn", "name": "iris-sklearn"},
                                {"model": "models/onnx-linear", "name": "onnx-linear"}]


def test_the_null_commit_of_a_first_push_means_everything(monorepo: Path) -> None:
    assert len(matrix(monorepo, "--since", "0" * 40)) == 2


def test_nothing_changed(monorepo: Path) -> None:
    assert matrix(monorepo, "--since", "HEAD") == []
    (monorepo / "README.md").write_text("changed, but not a model\n")
    assert matrix(monorepo, "--since", "HEAD") == []


def test_files_a_local_run_leaves_are_no_change(monorepo: Path) -> None:
    iris = monorepo / "models/iris-sklearn"
    (iris / "src/__pycache__").mkdir()
    (iris / "src/__pycache__/func_main.cpython-311.pyc").write_bytes(b"\0")
    (iris / ".hydro-ci/iris-sklearn").mkdir(parents=True)
    (iris / ".hydro-ci/iris-sklearn/plan.json").write_text("{}")
    (iris / "notes.tmp").write_text("scratch")
    (iris / ".hydroignore").write_text("*.tmp\n")
    # .hydroignore decides what ships, so it is a change itself; what it ignores is not
    assert matrix(monorepo, "--since", "HEAD") == [{"model": "models/iris-sklearn", "name": "iris-sklearn"}]
    git(["add", ".hydroignore"], iris)
    git(["commit", "-qm", "ignore scratch files"], monorepo)
    assert matrix(monorepo, "--since", "HEAD") == []
    (iris / "src/func_main.py").write_text((iris / "src/func_main.py").read_text() + "# edit\n")
    assert matrix(monorepo, "--since", "HEAD") == [{"model": "models/iris-sklearn", "name": "iris-sklearn"}]


def test_a_committed_change_inside_a_folder(monorepo: Path) -> None:
    (monorepo / "models/onnx-linear/model.onnx").write_bytes(b"new weights")
    git(["commit", "-qam", "retrain"], monorepo)
    assert matrix(monorepo, "--since", "HEAD~1") == [{"model": "models/onnx-linear", "name": "onnx-linear"}]


def test_shared_code_the_payload_links_to(monorepo: Path) -> None:
    (monorepo / "models/shared/features.py").write_text("SCALE = 2.0\n")
    assert [m["name"] for m in matrix(monorepo, "--since", "HEAD")] == ["iris-sklearn"]


def test_the_template_directory_a_folder_uses(monorepo: Path) -> None:
    (monorepo / "templates/Dockerfile.j2").write_text('{% extends "hydro-ci/Dockerfile.j2" %}\n# v2\n')
    assert [m["name"] for m in matrix(monorepo, "--since", "HEAD")] == ["onnx-linear"]


def test_a_new_untracked_model_and_paths_filter(monorepo: Path) -> None:
    copy_example("tf-savedmodel", monorepo / "other")
    assert [m["name"] for m in matrix(monorepo, "--since", "HEAD")] == ["tf-savedmodel"]
    assert matrix(monorepo, "--since", "HEAD", "models") == []


def test_a_branch_compares_with_its_merge_base(monorepo: Path) -> None:
    git(["checkout", "-qb", "feature"], monorepo)
    (monorepo / "models/iris-sklearn/src/func_main.py").write_text("def predict(features):\n    return {}\n")
    git(["commit", "-qam", "feature work"], monorepo)
    git(["checkout", "-q", "main"], monorepo)
    (monorepo / "models/onnx-linear/model.onnx").write_bytes(b"main moved on")
    git(["commit", "-qam", "main work"], monorepo)
    git(["checkout", "-q", "feature"], monorepo)
    # only what the branch changed, not what main did since
    assert [m["name"] for m in matrix(monorepo, "--since", "main")] == ["iris-sklearn"]


def test_github_format_writes_matrix_and_count(monorepo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    hydro_ci(["matrix", "--format", "github"], monorepo, env={"GITHUB_OUTPUT": str(out)})
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert values["count"] == "2"
    assert len(json.loads(values["matrix"])["include"]) == 2


def test_unknown_ref_is_one_line(monorepo: Path) -> None:
    proc = hydro_ci(["matrix", "--since", "no-such-ref"], monorepo, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: git ref 'no-such-ref' does not exist")
    assert "Traceback" not in proc.stderr


def test_paths_in_another_repository(monorepo: Path, tmp_path: Path) -> None:
    """`matrix PATH` run from another repository exited 3 (a path outside the working directory's
    repository): the repository is the one the paths are in."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    init_repo_with_a_file(elsewhere)
    proc = hydro_ci(["matrix", str(monorepo / "models")], elsewhere)
    assert json.loads(proc.stdout)["include"] == [{"model": "models/iris-sklearn", "name": "iris-sklearn"},
                                                  {"model": "models/onnx-linear", "name": "onnx-linear"}]
    (monorepo / "models/onnx-linear/model.onnx").write_bytes(b"new weights")
    proc = hydro_ci(["matrix", "--since", "HEAD", str(monorepo / "models")], tmp_path)  # not a repository
    assert [m["name"] for m in json.loads(proc.stdout)["include"]] == ["onnx-linear"]
    proc = hydro_ci(["matrix", str(monorepo), str(elsewhere)], tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: the paths are in 2 repositories")


def init_repo_with_a_file(root: Path) -> None:
    (root / "README.md").write_text("another repository\n")
    init_repo(root)


def test_serving_yaml_is_read_within_our_yaml_limits(monorepo: Path) -> None:
    """An alias bomb of 400 bytes kept `matrix` busy for tens of seconds (yaml.safe_load, then str()
    of every payload entry); our reader refuses it at once, and the folder is still listed."""
    from hydro_ci.matrix import changed_models

    lines = ["kind: Model", "name: bomb", 'a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = monorepo / "models" / "bomb"
    bomb.mkdir()
    (bomb / "serving.yaml").write_text("\n".join([*lines, "payload: *a8"]) + "\n")
    started = time.monotonic()
    entries = changed_models(monorepo, None, [bomb])
    assert time.monotonic() - started < 5  # ~0.1 s; main needed minutes for this one
    assert [(e.path, e.name) for e in entries] == [("models/bomb", "bomb")]


def test_every_command_finds_the_same_model_folders(tmp_path: Path) -> None:
    """matrix, contract check and the breaking-change hook each walked the tree their own way:
    matrix looked inside a model's payload and under env/ and site-packages/, check under dist/,
    and `contract breaking` with no FILE (default .) at a repository's root found nothing; matrix and
    the hook did not know serving.yml."""
    root = tmp_path / "repo"
    for folder in ("a", "a/src/nested", "env/m", "site-packages/m", "dist/m", ".hidden/m", "b/c", "yml"):
        (root / folder).mkdir(parents=True)
        serving = "serving.yml" if folder == "yml" else "serving.yaml"  # hs 2.x read both
        (root / folder / serving).write_text(f"kind: Model\nname: {folder.split('/')[-1]}\n")
    init_repo(root)
    listed = hydro_ci(["matrix", "--format", "lines"], root).stdout.split()
    assert listed == ["a", "b/c", "yml"]
    check = json.loads(hydro_ci(["contract", "check", "--format", "json"], root, check=False).stdout)
    assert check["folders"] == listed
    breaking = json.loads(hydro_ci(["contract", "breaking", "--format", "json"], root).stdout)
    assert [Path(v["folder"]).relative_to(root.resolve()).as_posix() for v in breaking] == listed
