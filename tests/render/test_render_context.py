"""Rendering a folder into a build context: content, reproducibility, ignores, payload, plan.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hydro_ci.contract.jsonform import contract_to_dict
from hydro_ci.contract.proto import from_protobin
from hydro_ci.epoch import file_time
from hydro_ci.errors import ContextError
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.render.context import LayerClass, load_context
from hydro_ci.render.labels import CONTRACT_LABEL

from .conftest import CONTRACT, MakeFolder, write_tree


def tree(root: Path) -> dict[str, tuple[str, int, int, bytes]]:
    """Every entry under root: (kind, mode, mtime, content) — what an engine's COPY would see."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        kind = "d" if path.is_dir() else "f"
        out[path.relative_to(root).as_posix()] = (
            kind, st.st_mode & 0o7777, int(st.st_mtime), b"" if kind == "d" else path.read_bytes())
    return out


def test_context_layout_and_contract(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder()
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", version="1.2.3", epoch=1700000000))
    root = tmp_path / "ctx"
    assert (root / "Dockerfile").is_file() and (root / "plan.json").is_file()
    shipped = (root / "model/files/src/func_main.py").read_bytes()
    assert shipped == (folder.root / "src/func_main.py").read_bytes()
    assert from_protobin((root / "model/contract.protobin").read_bytes()) == CONTRACT.primary
    layers = {f.path: f.layer for f in ctx.files}
    assert layers == {
        "model/contract.protobin": LayerClass.contract,
        "model/files/requirements.txt": LayerClass.deps,
        "model/files/src/func_main.py": LayerClass.code,
        "model/files/trained.model": LayerClass.weights,
    }
    dockerfile = (root / "Dockerfile").read_text()
    assert dockerfile.splitlines()[1] == "FROM hydrosphere/serving-runtime-python-3.7:3.0.0"
    # one COPY per layer class; a plain pip install -r runs right after the dependency files
    steps = [line for line in dockerfile.splitlines() if line.startswith(("COPY", "WORKDIR", "RUN"))]
    assert steps[:2] == ["COPY layers/deps/ /", "WORKDIR /model/files"]
    assert steps[2].startswith("RUN ")
    assert steps[2].endswith('"/bin/sh", "-c", "pip install -r requirements.txt"]')
    assert steps[3:] == ["COPY layers/weights/ /", "COPY layers/code/ /", "COPY layers/contract/ /"]
    # layers/<class>/ holds the same files as model/, as hard links; the engine is sent layers/ only
    for f in ctx.files:
        twin = root / "layers" / f.layer.value / f.path
        assert os.stat(twin).st_ino == os.stat(root / f.path).st_ino, f.path
    assert sorted(p.name for p in (root / "layers").iterdir()) == ["code", "contract", "deps", "weights"]
    assert (root / ".dockerignore").read_text().split() == ["model", "plan.json", "links.json",
                                                            ".plan.json.seal", ".links.json.seal"]


def test_plan_round_trips(make_folder: MakeFolder, tmp_path: Path) -> None:
    ctx = render_folder(make_folder(), RenderOptions(output=tmp_path / "ctx", version="1.0.0", epoch=5))
    assert load_context(tmp_path / "ctx") == ctx
    plan = json.loads((tmp_path / "ctx/plan.json").read_text())
    assert plan["workdir"] == "/model/files" and plan["base_image"].endswith(":3.0.0")
    assert plan["files"][0]["image_path"] == "/model/contract.protobin"
    assert plan["labels"][CONTRACT_LABEL] == json.dumps(contract_to_dict(CONTRACT), sort_keys=True,
                                                        separators=(",", ":"))


def test_same_folder_twice_gives_identical_bytes(make_folder: MakeFolder, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    a = make_folder(tmp_path / "one" / "model")
    ctx_a = render_folder(a, RenderOptions(output=tmp_path / "ctx-a", version="1.0.0"))
    # Another place, another time, another umask, other source mtimes and modes.
    time.sleep(1.1)
    old = os.umask(0o077)
    try:
        b = make_folder(tmp_path / "elsewhere" / "deeper" / "model")
        os.utime(b.root / "trained.model", (12345, 12345))
        os.chmod(b.root / "requirements.txt", 0o600)
        ctx_b = render_folder(b, RenderOptions(output=tmp_path / "elsewhere/ctx-b", version="1.0.0"))
    finally:
        os.umask(old)
    assert tree(ctx_a.root) == tree(ctx_b.root)
    # every time is the fixed file time (clamped to the epoch), not the epoch: layers outlive commits
    assert all(m[2] == file_time(1700000000) == 1 for m in tree(ctx_a.root).values())
    assert ctx_a.plan_bytes() == ctx_b.plan_bytes()


def test_changing_a_file_changes_the_context(make_folder: MakeFolder, tmp_path: Path) -> None:
    a = render_folder(make_folder(tmp_path / "a"), RenderOptions(output=tmp_path / "ctx-a", epoch=0))
    b = render_folder(make_folder(tmp_path / "b", files={**_default(), "src/func_main.py": "x = 2\n"}),
                      RenderOptions(output=tmp_path / "ctx-b", epoch=0))
    assert tree(a.root) != tree(b.root)


def _default() -> dict[str, bytes | str]:
    from .conftest import DEFAULT_FILES

    return dict(DEFAULT_FILES)


def test_executable_files_keep_exec_mode(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(files={**_default(), "bin/serve.sh": "#!/bin/sh\n"})
    os.chmod(folder.root / "bin/serve.sh", 0o700)
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    assert (tmp_path / "ctx/model/files/bin/serve.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "ctx/model/files/requirements.txt").stat().st_mode & 0o777 == 0o644
    assert {f.path: f.mode for f in ctx.files}["model/files/bin/serve.sh"] == 0o755


def test_default_ignores_and_hydroignore(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=(), files={
        **_default(),
        ".git/HEAD": "ref: refs/heads/main\n", "src/__pycache__/func_main.cpython-311.pyc": b"\0",
        "src/old.pyc": b"\0", ".hydro-ci/context/plan.json": "{}", "dist/x.whl": b"PK",
        "notes/scratch.ipynb": "{}", "notes/keep.md": "keep", "data/big.csv": "1,2\n",
        ".hydroignore": "# comments are fine\nnotes/\n!notes/keep.md\n*.csv\n**/*.csv\n",
    })
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    shipped = sorted(f.path.removeprefix("model/files/") for f in ctx.files
                     if f.layer is not LayerClass.contract)
    assert shipped == ["notes/keep.md", "requirements.txt", "src/func_main.py", "trained.model"]


def test_payload_selects_paths(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=("src/", "trained.model"), files={**_default(), "other.txt": "no"})
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    assert [f.path for f in ctx.files] == [
        "model/contract.protobin", "model/files/src/func_main.py", "model/files/trained.model"]


@pytest.mark.parametrize(("entry", "words"), [("missing.bin", "does not exist"),
                                              ("../outside", "resolves outside the repository")])
def test_bad_payload_entries(make_folder: MakeFolder, tmp_path: Path, entry: str, words: str) -> None:
    (tmp_path / "outside").write_text("secret")
    folder = make_folder(payload=(entry,))
    with pytest.raises(ContextError, match=words):
        render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))


def test_output_inside_folder_is_never_shipped(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=())
    out = folder.root / "out"
    render_folder(folder, RenderOptions(output=out, epoch=0))
    ctx = render_folder(folder, RenderOptions(output=out, epoch=0))  # a previous context is replaced
    assert not any(f.path.startswith("model/files/out/") for f in ctx.files)


def test_refuses_to_overwrite_a_foreign_directory(make_folder: MakeFolder, tmp_path: Path) -> None:
    write_tree(tmp_path / "precious", {"thesis.tex": "do not delete"})
    with pytest.raises(ContextError, match="not empty"):
        render_folder(make_folder(), RenderOptions(output=tmp_path / "precious", epoch=0))
    assert (tmp_path / "precious/thesis.tex").read_text() == "do not delete"


def test_no_runtime_and_no_contract_are_clear_errors(make_folder: MakeFolder, tmp_path: Path) -> None:
    with pytest.raises(ContextError, match="no runtime"):
        render_folder(make_folder(runtime=None), RenderOptions(output=tmp_path / "a", epoch=0))
    ctx = render_folder(make_folder(runtime=None), RenderOptions(output=tmp_path / "b", epoch=0,
                                                                 base_image="busybox:1"))
    assert ctx.base_image == "busybox:1"
    from hydro_ci.errors import HydroCIError

    with pytest.raises(HydroCIError):  # nothing declared, nothing inferable in these files
        render_folder(make_folder(tmp_path / "empty", contract=None), RenderOptions(output=tmp_path / "c"))


def test_labels_from_git_and_epoch(make_folder: MakeFolder, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    folder = make_folder()
    env = {**os.environ, "GIT_AUTHOR_DATE": "@1600000000 +0000", "GIT_COMMITTER_DATE": "@1600000000 +0000",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "model"],
                 ["remote", "add", "origin", "https://user:s3cret@git.example.com/acme/titanic.git"]):
        subprocess.run(["git", *args], cwd=folder.root, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder.root, capture_output=True,
                          text=True, check=True).stdout.strip()
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", version="2.0.0"))
    labels = ctx.labels
    assert labels["org.opencontainers.image.created"] == "2020-09-13T12:26:40Z"
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.opencontainers.image.source"] == "https://git.example.com/acme/titanic.git"
    assert labels["MODEL_NAME"] == labels["org.opencontainers.image.title"] == "titanic"
    assert labels["MODEL_VERSION"] == labels["org.opencontainers.image.version"] == "2.0.0"
    assert labels["team"] == "ml"
    assert "s3cret" not in (tmp_path / "ctx/Dockerfile").read_text()
    assert json.loads(labels[CONTRACT_LABEL]) == contract_to_dict(CONTRACT)


def test_inferred_contract_and_configured_base(tmp_path: Path) -> None:
    from hydro_ci.contract.model import ModelFolder
    from hydro_ci.infer import infer_folder

    example = Path(__file__).resolve().parents[2] / "examples" / "onnx-linear"
    folder = ModelFolder(root=example, name="onnx-linear", runtime="hydrosphere/serving-runtime-onnx:3.0.0",
                         payload=("model.onnx",), config={"base-image": "scratch"})
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    assert ctx.base_image == "scratch" and "FROM scratch\n" in ctx.dockerfile.read_text()
    inferred = infer_folder(example).contract
    assert from_protobin((tmp_path / "ctx/model/contract.protobin").read_bytes()) == inferred.primary
    assert [f.path for f in ctx.files] == ["model/contract.protobin", "model/files/model.onnx"]


@pytest.mark.parametrize(("files", "command", "expected"), [
    # no dependency files: the plain pip install runs before anything is copied
    ({"src/func_main.py": "x = 1\n"}, "pip install numpy",
     ["WORKDIR", "RUN", "COPY layers/code/ /", "COPY layers/contract/ /"]),
    # a script from the payload may read anything: it runs after every file
    ({"requirements.txt": "numpy\n", "install.sh": "pip install -r requirements.txt\n"}, "sh install.sh",
     ["COPY layers/deps/ /", "COPY layers/code/ /", "COPY layers/contract/ /", "WORKDIR", "RUN"]),
    # requirements naming a package folder of the payload: after every file
    ({"requirements.txt": "./src\n", "src/pkg/__init__.py": "", "w.bin": b"\0" * (1 << 20)},
     "pip install -r requirements.txt",
     ["COPY layers/deps/ /", "COPY layers/weights/ /", "COPY layers/code/ /", "COPY layers/contract/ /",
      "WORKDIR", "RUN"]),
    # no install-command: only the classes that have files, in layer order
    ({"w.bin": b"\0" * (1 << 20)}, None, ["COPY layers/weights/ /", "COPY layers/contract/ /", "WORKDIR"]),
])
def test_copy_steps_follow_the_layer_classes_and_what_the_install_reads(
        make_folder: MakeFolder, tmp_path: Path, files: dict[str, bytes | str], command: str | None,
        expected: list[str]) -> None:
    folder = make_folder(files=files, install_command=command)
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    lines = ctx.dockerfile.read_text().splitlines()
    steps = [line if line.startswith("COPY") else line.split()[0]
             for line in lines if line.startswith(("COPY", "WORKDIR", "RUN"))]
    assert steps == expected
    present = sorted(p.name for p in (ctx.root / "layers").iterdir())
    assert present == sorted(s.split("/")[1] for s in expected if s.startswith("COPY"))
