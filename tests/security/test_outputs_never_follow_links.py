"""Outputs are written atomically and never through a symbolic link a checkout could have planted.

In CI the working directory is the pull request's checkout: ``.hydro-ci/<model>/…``, ``dist/``, the
default render output inside the model folder may all be committed symlinks pointing at files the
runner's user can write (``~/.bashrc``, ``~/.docker/config.json``). Each must end in one ``error:``
line and leave the target untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hydro_ci.errors import OutputPathError
from hydro_ci.output_files import write_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris-sklearn"
MODEL = "iris-sklearn"
PRECIOUS = "precious: not to be overwritten\n"


def _hydro_ci(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HYDRO_CI_REGISTRY"))}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    return subprocess.run([sys.executable, "-m", "hydro_ci", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A working directory holding the model folder, as a CI checkout would."""
    import shutil

    work = tmp_path / "checkout"
    shutil.copytree(EXAMPLE, work / MODEL, ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    return work


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "home" / ".bashrc"
    path.parent.mkdir()
    path.write_text(PRECIOUS)
    return path


def _refused(proc: subprocess.CompletedProcess[str], victim: Path) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "symbolic link" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert victim.read_text() == PRECIOUS
    assert sorted(p.name for p in victim.parent.iterdir()) == [victim.name]


@pytest.mark.parametrize("name", ["check.json", "contract.json", "version.json", "release-plan.json",
                                  "build.json", "summary.json", "summary.md"])
def test_a_linked_stage_file_is_refused(checkout: Path, victim: Path, name: str) -> None:
    out = checkout / ".hydro-ci" / MODEL
    out.mkdir(parents=True)
    (out / name).symlink_to(victim)
    _refused(_hydro_ci(["pipeline", MODEL], checkout), victim)


@pytest.mark.parametrize("link", [".hydro-ci", f".hydro-ci/{MODEL}", f".hydro-ci/{MODEL}/context", "dist"])
def test_a_linked_output_directory_is_refused(checkout: Path, victim: Path, link: str) -> None:
    (checkout / link).parent.mkdir(parents=True, exist_ok=True)
    (checkout / link).symlink_to(victim.parent, target_is_directory=True)
    _refused(_hydro_ci(["pipeline", MODEL], checkout), victim)


@pytest.mark.parametrize("name", [f"{MODEL}-0.1.0.tar", f"{MODEL}-0.1.0.oci"])
def test_a_linked_image_output_is_refused(checkout: Path, victim: Path, name: str) -> None:
    (checkout / "dist").mkdir()
    (checkout / "dist" / name).symlink_to(victim if name.endswith(".tar") else victim.parent)
    _refused(_hydro_ci(["pipeline", MODEL], checkout), victim)


@pytest.mark.parametrize("where", [f".hydro-ci/{MODEL}", "dist"])
def test_a_linked_attestation_file_is_refused(checkout: Path, victim: Path, where: str) -> None:
    (checkout / where).mkdir(parents=True)
    (checkout / where / f"{MODEL}-0.1.0.spdx.json").symlink_to(victim)
    _refused(_hydro_ci(["pipeline", MODEL, "--sbom"], checkout), victim)


def test_a_linked_json_file_is_refused(checkout: Path, victim: Path) -> None:
    (checkout / "summary-out.json").symlink_to(victim)
    _refused(_hydro_ci(["pipeline", MODEL, "--json", "summary-out.json"], checkout), victim)


def test_the_default_render_output_in_the_model_folder_is_not_followed(
        checkout: Path, victim: Path, tmp_path: Path) -> None:
    """The model folder named by an absolute path, run from elsewhere: its .hydro-ci is still its own."""
    model = checkout / MODEL
    (model / ".hydro-ci").symlink_to(victim.parent, target_is_directory=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _refused(_hydro_ci(["render", str(model)], elsewhere), victim)


def test_outputs_are_replaced_by_a_rename_not_rewritten_in_place(checkout: Path, tmp_path: Path) -> None:
    """A second name for an output file (a hard link) keeps the old bytes: the file was renamed into
    place, so a reader never sees half a file and an interrupted write leaves the old one."""
    assert _hydro_ci(["pipeline", MODEL], checkout).returncode == 0
    out = checkout / ".hydro-ci" / MODEL
    names = ["summary.json", "summary.md", "check.json", "context/plan.json"]
    old = {name: (out / name).read_bytes() for name in names}
    for name in names:
        os.link(out / name, tmp_path / name.replace("/", "-"))
    (checkout / MODEL / "serving.yaml").write_text(
        (checkout / MODEL / "serving.yaml").read_text().replace("dataset: iris", "dataset: iris-2"))
    assert _hydro_ci(["pipeline", MODEL], checkout).returncode == 0
    for name in names:
        assert (tmp_path / name.replace("/", "-")).read_bytes() == old[name], name
    assert (out / "summary.json").read_bytes() != old["summary.json"]


def test_the_helper_refuses_a_link_at_the_file_and_on_the_way(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "target"
    target.mkdir()
    Path("out").symlink_to(target, target_is_directory=True)
    with pytest.raises(OutputPathError, match="out is a symbolic link"):
        write_file(Path("out/a.json"), "{}")
    Path("real").mkdir()
    Path("real/a.json").symlink_to(target / "a.json")
    with pytest.raises(OutputPathError, match=r"a\.json is a symbolic link"):
        write_file(Path("real/a.json"), "{}")
    assert list(target.iterdir()) == []
    # A directory the user named outside the working directory may itself be reached through a link.
    outside = tmp_path.parent / f"{tmp_path.name}-named"
    outside.symlink_to(target, target_is_directory=True)
    try:
        monkeypatch.chdir(tmp_path / "real")
        write_file(outside / "b.json", "{}")
        assert (target / "b.json").read_text() == "{}"
    finally:
        outside.unlink()
