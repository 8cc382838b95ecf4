"""Payload files a build context cannot carry, and a render that fails half way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hydro_ci.errors import ContextError
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.render.context import PLAN_FILE, write_context

from .conftest import MakeFolder


@pytest.mark.parametrize(("raw", "shown"), [
    (b"bad\xffname.py", r"bad\xffname.py"),
    (b"new\nline.py", r"new\nline.py"),
    (b"tab\tname.py", r"tab\tname.py"),
])
def test_undecodable_or_control_names_are_one_line_errors(make_folder: MakeFolder, tmp_path: Path,
                                                          raw: bytes, shown: str) -> None:
    folder = make_folder(payload=())
    odd = os.path.join(os.fsencode(folder.root), b"src", raw)
    with open(odd, "wb") as f:
        f.write(b"x = 1\n")
    out = tmp_path / "ctx"
    with pytest.raises(ContextError) as err:
        render_folder(folder, RenderOptions(output=out, epoch=0))
    assert shown in str(err.value) and "\n" not in str(err.value) and ".hydroignore" in str(err.value.hint)
    assert not out.exists() or not any(out.iterdir())  # nothing half-written
    os.unlink(odd)
    assert render_folder(folder, RenderOptions(output=out, epoch=0)).files  # and the next render works


def test_utf8_names_are_fine(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(files={"src/café.py": "x = 1\n"}, payload=())
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    assert "model/files/src/café.py" in [f.path for f in ctx.files]


def test_a_failed_write_leaves_no_half_context(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=())
    out = tmp_path / "ctx"
    ctx = render_folder(folder, RenderOptions(output=out, epoch=0))
    gone = folder.root / "vanished.py"  # listed, then deleted before it was copied
    with pytest.raises(ContextError, match=r"cannot copy payload file .*vanished\.py"):
        write_context(out, sources=[("a.py", folder.root / "src/func_main.py"), ("vanished.py", gone)],
                      contract_bytes=b"", dockerfile_text="FROM scratch\n", context=ctx)
    assert sorted(p.name for p in out.iterdir()) == []
    assert (render_folder(folder, RenderOptions(output=out, epoch=0)).root / PLAN_FILE).is_file()


def test_hydroignore_that_is_not_utf8_is_located(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=())
    (folder.root / ".hydroignore").write_bytes(b"*.csv\nbad\xff\n")
    with pytest.raises(ContextError, match=r"\.hydroignore:2: not UTF-8 text"):
        render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))


def test_ignoring_everything_is_refused_not_an_empty_image(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=())
    (folder.root / ".hydroignore").write_text("*\n")
    with pytest.raises(ContextError, match=r"nothing to ship: every file of .* is ignored"):
        render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    (folder.root / ".hydroignore").write_text("*\n!src\n")
    assert render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0)).files


def test_a_payload_entry_whose_files_are_all_ignored(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=("src/", "trained.model"))
    (folder.root / ".hydroignore").write_text("src/*.py\n")
    with pytest.raises(ContextError, match="payload entry 'src/' holds no file that is not ignored"):
        render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))


@pytest.mark.parametrize(("remote", "public"), [
    ("https://bob:p@ss-word@git.example.com/acme/m.git", "https://git.example.com/acme/m.git"),
    ("https://git.example.com/acme/m.git?private_token=tok", "https://git.example.com/acme/m.git"),
    ("https://oauth2:tok@git.example.com:8443/acme/m", "https://git.example.com:8443/acme/m"),
    ("git@github.com:acme/m.git", "git@github.com:acme/m.git"),
])
def test_source_label_never_carries_a_credential(remote: str, public: str) -> None:
    from hydro_ci.contract.model import Contract
    from hydro_ci.render.labels import image_labels

    labels = image_labels(name="m", version="1.0.0", contract=Contract("m", ()), epoch=0, metadata={},
                          revision=None, source=remote)
    assert labels["org.opencontainers.image.source"] == public


def test_a_link_to_a_folder_ships_its_files(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(files={"src/func_main.py": "x = 1\n", "src/v3/w.txt": "w\n"}, payload=("src/",))
    (folder.root / "src/current").symlink_to("v3")
    ctx = render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))
    paths = [f.path for f in ctx.files]
    assert "model/files/src/current/w.txt" in paths and "model/files/src/v3/w.txt" in paths
    assert (ctx.root / "model/files/src/current/w.txt").read_text() == "w\n"


def test_a_dangling_link_is_one_line(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(payload=())
    (folder.root / "src/gone").symlink_to("nowhere.py")
    with pytest.raises(ContextError, match=r"payload file src/gone is a symlink to missing nowhere\.py"):
        render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))


@pytest.mark.parametrize(("value", "written"), [(True, "true"), (False, "false"), (3, "3"), (0.5, "0.5"),
                                                ("", ""), ("$HOME", "$HOME")])
def test_env_values_are_the_yaml_scalars_as_written(make_folder: MakeFolder, tmp_path: Path,
                                                    value: object, written: str) -> None:
    folder = make_folder(payload=(), config={"env": {"X": value}})
    assert render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0)).env == {"X": written}


@pytest.mark.parametrize(("value", "words"), [(None, "X has no value"), ({"a": 1}, "X is a dict"),
                                              ([1], "X is a list")])
def test_env_values_that_are_not_text_are_refused(make_folder: MakeFolder, tmp_path: Path,
                                                  value: object, words: str) -> None:
    folder = make_folder(payload=(), config={"env": {"X": value}})
    with pytest.raises(ContextError, match=words):
        render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=0))


def test_a_foreign_plan_json_does_not_make_a_folder_ours(make_folder: MakeFolder, tmp_path: Path) -> None:
    out = tmp_path / "theirs"
    (out / "model").mkdir(parents=True)
    (out / "model/weights.bin").write_text("precious")
    (out / PLAN_FILE).write_text('{"my": "plan"}')
    with pytest.raises(ContextError, match="not empty and not a hydro-ci build context"):
        render_folder(make_folder(payload=()), RenderOptions(output=out, epoch=0))
    assert (out / "model/weights.bin").read_text() == "precious"


@pytest.mark.parametrize("where", [".", ".."])
def test_output_is_never_the_model_folder_or_above_it(make_folder: MakeFolder, where: str) -> None:
    folder = make_folder(payload=())
    (folder.root / "model").mkdir()
    (folder.root / "model/weights.bin").write_text("precious")
    with pytest.raises(ContextError, match="is the model folder or holds it"):
        render_folder(folder, RenderOptions(output=folder.root / where, epoch=0))
    assert (folder.root / "model/weights.bin").read_text() == "precious"


@pytest.mark.parametrize("version", ["1/0", "", "1.0.0\nRUN x", "-1"])
def test_render_refuses_a_version_build_would_refuse(tmp_path: Path, version: str) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "hydro_ci", "render", str(tmp_path), f"--version={version}"],
                         capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: --version ") and len(out.stderr.splitlines()) == 2
