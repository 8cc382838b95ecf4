"""Unusable --output-layout / --output-tar / --output / --layout: one line, exit 1, nothing clobbered.

Scratch base, no engine and no registry: each case is one quick subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_cli_oci import SERVING, hydro


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "src").mkdir(parents=True)
    (root / "serving.yaml").write_text(SERVING)
    (root / "src/app.py").write_text("A = 1\n")
    (root / "weights.bin").write_bytes(b"w" * 100)
    (tmp_path / "a-file").write_text("not a directory\n")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs/precious.txt").write_text("keep me\n")
    return root


@pytest.mark.parametrize(("flags", "message"), [
    (["--output-layout", "a-file"], "a-file is a file, not an OCI image layout directory"),
    (["--output-layout", "theirs"], "theirs is not empty and not an OCI image layout"),
    (["--output-tar", "a-file/x.tar"], "cannot write a-file/x.tar: a-file is a file, not a directory"),
    (["--output-tar", "theirs"], "theirs is a directory; --output-tar needs a file name"),
    (["--output", "a-file"], "output a-file is a file, not a directory"),
])
def test_bad_outputs_are_one_line_errors(tmp_path: Path, flags: list[str], message: str) -> None:
    _folder(tmp_path)
    out = hydro("build", "model", "--image", "r.example/x", "--version", "1.0.0", "--builder", "oci",
                "--base-from", "scratch", *flags, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert f"error: {message}" in out.stderr and "Traceback" not in out.stderr
    assert sorted(p.name for p in (tmp_path / "theirs").iterdir()) == [
        "precious.txt"]
    assert not (tmp_path / "missing").exists()


def test_push_from_a_file_instead_of_a_layout(tmp_path: Path) -> None:
    _folder(tmp_path)
    out = hydro("push", "--builder", "oci", "--layout", "a-file", "--image", "r.example/x",
                "--version", "1.0.0", cwd=tmp_path)
    assert out.returncode == 1 and "error: a-file is not an OCI image layout" in out.stderr


def test_the_tar_appears_whole_under_its_name_only(tmp_path: Path) -> None:
    _folder(tmp_path)
    out = hydro("build", "model", "--image", "r.example/x", "--version", "1.0.0", "--builder", "oci",
                "--base-from", "scratch", "--output-tar", "x.tar", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    # .hydro-ci/: the rendered context, where every verb writes it by default
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hydro-ci", "a-file", "model", "theirs", "x.tar"]
    assert (tmp_path / "x.tar").stat().st_mode & 0o777 == 0o644


def test_output_tar_creates_its_folder_as_dist_does(tmp_path: Path) -> None:
    _folder(tmp_path)
    out = hydro("build", "model", "--image", "r.example/x", "--version", "1.0.0", "--builder", "oci",
                "--base-from", "scratch", "--output-tar", "new/dir/x.tar", "--output-layout", "new/x.oci",
                cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "new/dir/x.tar").is_file() and (tmp_path / "new/x.oci/index.json").is_file()


def test_repeated_tags_are_one_tag(tmp_path: Path) -> None:
    from hydro_ci.version.tags import TagSet

    assert TagSet.given("1.0.0", ("latest", "1.0.0", "latest")).names == ("1.0.0", "latest")
    _folder(tmp_path)
    out = hydro("build", "model", "--image", "r.example/x", "--version", "1.0.0", "--builder", "oci",
                "--base-from", "scratch", "-t", "latest", "-t", "latest", "-t", "1.0.0", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "tags: 1.0.0 latest\n" in out.stdout


def test_a_layout_version_tag_holding_another_image_is_refused(tmp_path: Path) -> None:
    _folder(tmp_path)
    build = ("build", "model", "--image", "r.example/x", "--version", "1.0.0", "-t", "latest",
             "--builder", "oci", "--base-from", "scratch", "--output-layout", "oci")
    assert hydro(*build, cwd=tmp_path).returncode == 0
    index = (tmp_path / "oci/index.json").read_bytes()
    (tmp_path / "model/src/app.py").write_text("A = 2\n")
    out = hydro(*build, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stderr.splitlines() if not line.startswith("[")]
    assert lines[0].startswith("error: oci:1.0.0 already holds sha256:") and len(lines) == 2
    assert lines[0].endswith("version tags are never reused") and lines[1].startswith("hint: ")
    assert (tmp_path / "oci/index.json").read_bytes() == index  # latest did not move either
    (tmp_path / "model/src/app.py").write_text("A = 1\n")
    assert hydro(*build, cwd=tmp_path).returncode == 0  # the same image again: nothing to change
    assert (tmp_path / "oci/index.json").read_bytes() == index


@pytest.mark.parametrize("verb", [
    ["render"], ["build", "--image", "r.example/x", "--version", "1.0.0"],
    ["build", "--image", "r.example/x", "--version", "1.0.0", "--builder", "oci"], ["pipeline"],
    ["contract", "check"],  # the way every other verb already said it
])
def test_a_missing_model_folder_is_a_usage_error(tmp_path: Path, verb: list[str]) -> None:
    _folder(tmp_path)
    out = hydro(*_with_path(verb, "missing"), cwd=tmp_path)
    assert (out.returncode, out.stderr) == (2, "error: no such file or directory: missing\n")
    if verb[0] != "contract":
        out = hydro(*_with_path(verb, "a-file"), cwd=tmp_path)
        assert out.returncode == 2 and out.stderr.startswith("error: a-file: not a folder\nhint: ")


def _with_path(verb: list[str], path: str) -> list[str]:
    words = 2 if verb[0] == "contract" else 1
    return [*verb[:words], path, *verb[words:]]


def test_each_verb_says_its_default_builder() -> None:
    def help_of(verb: str) -> str:  # wide, so argparse wraps no phrase
        return subprocess.run([sys.executable, "-m", "hydro_ci", verb, "--help"], capture_output=True,
                              text=True, env={**os.environ, "COLUMNS": "400"}, check=True).stdout

    build, pipeline = help_of("build"), help_of("pipeline")
    assert "oci (the default, as in hydro-ci pipeline)" in build
    assert "oci (the default, as in hydro-ci build)" in pipeline


def test_build_defaults_to_the_daemonless_builder_as_the_pipeline_does(tmp_path: Path) -> None:
    _folder(tmp_path)
    out = subprocess.run([sys.executable, "-m", "hydro_ci", "build", "model", "--image", "r.example/x",
                          "--version", "1.0.0", "--base-from", "scratch", "--json"], cwd=tmp_path,
                         capture_output=True, text=True,
                         env={**os.environ, "DOCKER_HOST": "tcp://127.0.0.1:9"})  # no engine needed
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["builder"] == "oci"


def test_render_writes_where_the_pipeline_does_not_into_the_model_folder(tmp_path: Path) -> None:
    _folder(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    out = hydro("render", str(tmp_path / "model"), cwd=work)
    assert out.returncode == 0, out.stderr
    assert (work / ".hydro-ci/clidemo/context/Dockerfile").is_file()  # the pipeline's context folder
    assert not (tmp_path / "model/.hydro-ci").exists()  # nothing written into the user's repository


@pytest.mark.registry
def test_insecure_is_taken_by_build_and_push_for_this_machine_only(tmp_path: Path, open_registry: object,
                                                                  unique_repo: str) -> None:
    _folder(tmp_path)
    for builder in ("docker", "oci"):  # refused before anything runs, whatever the builder
        out = hydro("build", "model", "--image", "registry.example.com/x", "--version", "1.0.0", "--builder",
                    builder, "--insecure", cwd=tmp_path)
        assert out.returncode != 0 and "Traceback" not in out.stderr
        assert out.stderr.splitlines()[0] == (
            "error: --insecure is only allowed for registries on this machine (127.0.0.0/8, ::1, localhost), "
            "not registry.example.com")
    host = open_registry.host  # type: ignore[attr-defined]
    out = hydro("build", "model", "--image", f"{host}/{unique_repo}", "--version", "1.0.0",
                "--builder", "oci", "--base-from", "scratch", "--output-layout", "oci", "--insecure",
                cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = hydro("push", "--image", f"{host}/{unique_repo}", "--version", "1.0.0", "--builder", "oci",
                "--layout", "oci", "--insecure", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "digest: sha256:" in out.stdout


@pytest.mark.parametrize("args", [
    ["build", "model", "--image", "r.example/x", "--version", "1.0.0", "-u", "hydro"],
    ["pipeline", "model", "--only", "push"],
])
def test_flags_that_would_do_nothing_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    _folder(tmp_path)
    out = hydro(*args, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "need --push" in out.stderr.splitlines()[0] or "needs --push" in out.stderr.splitlines()[0]
