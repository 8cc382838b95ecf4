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
