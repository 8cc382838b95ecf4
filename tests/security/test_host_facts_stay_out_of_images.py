"""An image carries no fact about the build host: the source label is a public URL or nothing.

A checkout cloned from a local path put that path (``/home/runner/work/secret-project``) into
``org.opencontainers.image.source``; a URL with a token in it must lose the token (as before).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hydro_ci.contract.model import Contract
from hydro_ci.render.labels import image_labels

SOURCE = "org.opencontainers.image.source"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris-sklearn"


@pytest.mark.parametrize(("remote", "label"), [
    ("/home/runner/work/secret-project", None),
    ("../upstream.git", None),
    ("file:///srv/git/secret.git", None),
    ("C:\\Users\\me\\repo", None),
    ("ftp://files.example.com/repo", None),
    ("https://tok:x-oauth@github.com/acme/m.git", "https://github.com/acme/m.git"),
    ("ssh://git@github.com/acme/m.git", "ssh://github.com/acme/m.git"),
    ("git@github.com:acme/m.git", "git@github.com:acme/m.git"),
])
def test_only_public_urls_become_the_source_label(remote: str, label: str | None) -> None:
    labels = image_labels(name="m", version="1.0.0", contract=Contract("m", ()), epoch=0, source=remote)
    assert labels.get(SOURCE) == label


def test_a_clone_of_a_local_path_has_no_source_label(tmp_path: Path) -> None:
    from hydro_ci.render.assemble import RenderOptions, load_folder, render_folder

    upstream = tmp_path / "private-upstream"
    shutil.copytree(EXAMPLE, upstream / "m", ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "m"]):
        subprocess.run([*git, *cmd], cwd=upstream, check=True, capture_output=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(upstream), str(clone)], check=True, capture_output=True)
    ctx = render_folder(load_folder(clone / "m"), RenderOptions(output=tmp_path / "ctx", epoch=0))
    assert SOURCE not in ctx.labels
    assert str(tmp_path) not in (tmp_path / "ctx" / "plan.json").read_text()
