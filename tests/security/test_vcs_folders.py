"""Attack: version control data inside the model folder rides along into the image.

A nested clone (a vendored submodule, a copied repository) keeps its ``.git/config``, where CI
checkouts write ``http.extraheader = AUTHORIZATION: basic <token>``. ``.git``, ``.hg`` and ``.svn``
folders are never shipped, at any depth, whatever ``.hydroignore`` says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import SECRET, files_holding, make_model, run

TOKEN_CONFIG = f"[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n"


@pytest.mark.parametrize("vcs", [".git", ".hg", ".svn"])
@pytest.mark.parametrize("where", ["", "vendor/lib/", "src/deep/er/"])
def test_vcs_folders_are_never_shipped(tmp_path: Path, vcs: str, where: str) -> None:
    folder = make_model(tmp_path)
    (folder / where / vcs).mkdir(parents=True)
    (folder / where / vcs / "config").write_text(TOKEN_CONFIG)
    (folder / where / "kept.py").write_text("x = 1\n")
    # an exception in .hydroignore does not bring it back either
    (folder / ".hydroignore").write_text(f"!{where}{vcs}\n!{where}{vcs}/config\n")
    proc = run(["render", "model", "--output", "ctx"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = tmp_path / "ctx" / "model" / "files"
    assert (files / where / "kept.py").is_file()
    assert not list((tmp_path / "ctx").rglob(vcs))
    assert files_holding(tmp_path / "ctx", SECRET.encode()) == []


def test_a_git_file_of_a_worktree_or_submodule_is_not_shipped_either(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "vendor").mkdir()
    (folder / "vendor" / ".git").write_text("gitdir: /home/runner/work/secret/.git/modules/vendor\n")
    assert run(["render", "model", "--output", "ctx"], tmp_path).returncode == 0
    assert not (tmp_path / "ctx" / "model" / "files" / "vendor" / ".git").exists()


def test_the_pipeline_image_holds_no_nested_git_config(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "vendor" / ".git").mkdir(parents=True)
    (folder / "vendor" / ".git" / "config").write_text(TOKEN_CONFIG)
    (folder / "vendor" / "lib.py").write_text("x = 1\n")
    proc = run(["pipeline", "model", "--dist", "dist"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for out in ("dist", ".hydro-ci", ".cache-hydro"):  # layout blobs are gzip: the cache keeps them too
        assert files_holding(tmp_path / out, SECRET.encode()) == [], out
    assert files_holding(tmp_path / ".hydro-ci", b"vendor/.git") == []
