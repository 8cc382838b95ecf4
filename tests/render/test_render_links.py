"""Contexts for the daemonless builder link large payload files instead of copying them: the plan is
the same, the model folder's files are never touched, and a file changed since render is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hydro_ci.build import BuildRequest, EngineOptions
from hydro_ci.build.engine import EngineBuilder
from hydro_ci.epoch import file_time
from hydro_ci.errors import ContextError
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.render.context import LINK_MIN_SIZE, LINKS_FILE, PlanError, check_links, load_context
from hydro_ci.seal import write_sealed

from .conftest import DEFAULT_FILES, MakeFolder

BIG = os.urandom(LINK_MIN_SIZE + 123)


def _files() -> dict[str, bytes | str]:
    return {**DEFAULT_FILES, "weights/big.bin": BIG, "weights/just-under.bin": b"u" * (LINK_MIN_SIZE - 1)}


def test_large_files_are_linked_and_the_plan_is_the_same_as_a_copy(make_folder: MakeFolder,
                                                                   tmp_path: Path) -> None:
    folder = make_folder(files=_files())
    copied = render_folder(folder, RenderOptions(output=tmp_path / "copied", version="1.0.0", epoch=7))
    linked = render_folder(folder, RenderOptions(output=tmp_path / "linked", version="1.0.0", epoch=7,
                                                 link_large_files=True))
    big = tmp_path / "linked/model/files/weights/big.bin"
    assert big.is_symlink() and Path(os.readlink(big)) == (folder.root / "weights/big.bin").resolve()
    assert big.read_bytes() == BIG
    for rel in ("weights/just-under.bin", "src/func_main.py", "trained.model"):
        assert not (tmp_path / "linked/model/files" / rel).is_symlink(), rel
    assert list(linked.links) == ["model/files/weights/big.bin"]
    assert not copied.links and not (tmp_path / "copied" / LINKS_FILE).exists()
    # what any builder reads is the same bytes: files, sizes, modes, digests, layer classes
    assert (tmp_path / "linked/plan.json").read_bytes() == (tmp_path / "copied/plan.json").read_bytes()
    assert load_context(tmp_path / "linked") == linked
    check_links(linked)


def test_render_never_touches_the_model_folders_file(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(files=_files())
    source = folder.root / "weights/big.bin"
    source.chmod(0o600)
    os.utime(source, ns=(1_000_000_123, 1_000_000_456))
    before = os.stat(source)
    out = tmp_path / "ctx"
    for link in (True, True, False, True):  # linked over linked, a copy over a link, a link over a copy
        render_folder(folder, RenderOptions(output=out, epoch=7, link_large_files=link))
        after = os.stat(source)
        assert (after.st_mode, after.st_mtime_ns, after.st_ino) == (before.st_mode, before.st_mtime_ns,
                                                                     before.st_ino)
        assert source.read_bytes() == BIG
        assert (out / "model/files/weights/big.bin").is_symlink() is link
    # the link itself carries the fixed file time like every other entry of the context
    assert os.lstat(out / "model/files/weights/big.bin").st_mtime == file_time(7)


@pytest.mark.parametrize("change", ["rewrite", "rewrite-keeping-mtime", "replace", "touch", "delete"])
def test_a_file_changed_since_render_is_refused(make_folder: MakeFolder, tmp_path: Path, change: str) -> None:
    import time

    folder = make_folder(files=_files())
    render_folder(folder, RenderOptions(output=tmp_path / "ctx", epoch=7, link_large_files=True))
    source = folder.root / "weights/big.bin"
    before = os.stat(source)
    time.sleep(0.05)  # past the file system's timestamp granularity
    if change == "rewrite":  # same size, other bytes
        source.write_bytes(os.urandom(len(BIG)))
    elif change == "rewrite-keeping-mtime":  # what tar -x or cp -p of a new archive of the same shape do
        source.write_bytes(os.urandom(len(BIG)))
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif change == "replace":  # a new file renamed over it (what most writers do), same bytes
        (folder.root / "new.bin").write_bytes(BIG)
        os.replace(folder.root / "new.bin", source)
    elif change == "touch":
        os.utime(source, ns=(1, 1))
    else:
        source.unlink()
    ctx = load_context(tmp_path / "ctx")
    expected = "is gone" if change == "delete" else "changed after the context .* was rendered"
    with pytest.raises(ContextError, match=expected) as info:
        check_links(ctx)
    assert "\n" not in info.value.message and str(source) in info.value.message
    assert "render" in (info.value.hint or "") and "again" in (info.value.hint or "")


def test_a_damaged_links_file_is_a_plan_error(make_folder: MakeFolder, tmp_path: Path) -> None:
    render_folder(make_folder(files=_files()), RenderOptions(output=tmp_path / "ctx", epoch=7,
                                                             link_large_files=True))
    links = tmp_path / "ctx" / LINKS_FILE
    data = json.loads(links.read_text())
    data["links"]["model/files/weights/big.bin"].pop("ino")
    links.write_text(json.dumps(data))
    # edited after the render: its seal no longer matches (hydro_ci.seal), so it is never read
    with pytest.raises(PlanError, match=r"links\.json was not written by hydro-ci with this key"):
        load_context(tmp_path / "ctx")
    write_sealed(links, json.dumps(data))  # as if hydro-ci itself had written it damaged
    with pytest.raises(PlanError, match=r"links\.json: malformed"):
        load_context(tmp_path / "ctx")


def test_the_engine_refuses_a_linked_context(make_folder: MakeFolder, tmp_path: Path) -> None:
    ctx = render_folder(make_folder(files=_files()), RenderOptions(output=tmp_path / "ctx", version="1.0.0",
                                                                   epoch=7, link_large_files=True))
    # refused before the engine is even contacted: docker build would ship the links themselves
    with pytest.raises(ContextError, match="links 1 large payload file"):
        EngineBuilder(EngineOptions(client=object())).build(BuildRequest(ctx, "r.example/m", "1.0.0"))


def test_a_context_copied_with_its_links_followed_still_builds(make_folder: MakeFolder,
                                                               tmp_path: Path) -> None:
    import shutil

    from hydro_ci.render.context import symlinked_files

    render_folder(make_folder(files=_files()),
                  RenderOptions(output=tmp_path / "ctx", version="1.0.0", epoch=7, link_large_files=True))
    shutil.copytree(tmp_path / "ctx", tmp_path / "copied", symlinks=False)  # cp -rL, a CI artifact
    ctx = load_context(tmp_path / "copied")
    assert ctx.links and symlinked_files(ctx) == []
    check_links(ctx)  # a private copy now: nothing to compare with the model folder
    # the engine's tree has the file too (review: it was missing, and the engine built without it)
    assert (tmp_path / "copied/layers/weights/model/files/weights/big.bin").read_bytes() == BIG
    assert symlinked_files(load_context(tmp_path / "ctx")) == ["model/files/weights/big.bin"]
    (tmp_path / "copied/layers/weights/model/files/weights/big.bin").unlink()
    assert symlinked_files(load_context(tmp_path / "copied")) == ["model/files/weights/big.bin"]


def test_an_output_without_symlinks_gets_copies(make_folder: MakeFolder, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # No vfat or CIFS mount here: the file system's refusal is the one part we stand in for.
    def refuse(*_args: object, **_kw: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", refuse)
    ctx = render_folder(make_folder(files=_files()), RenderOptions(output=tmp_path / "ctx", epoch=7,
                                                                   link_large_files=True))
    assert not ctx.links and not (tmp_path / "ctx/model/files/weights/big.bin").is_symlink()
    assert (tmp_path / "ctx/model/files/weights/big.bin").read_bytes() == BIG
    assert sorted(p.name for p in (tmp_path / "ctx").iterdir()) == [
        ".dockerignore", ".plan.json.seal", "Dockerfile", "layers", "model", "plan.json"]
