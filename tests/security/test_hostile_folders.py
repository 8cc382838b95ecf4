"""Attack: a model folder (or the place it is built in) that the file system makes awkward.

An unreadable subfolder, a read-only model folder or working directory, folders nested 1 100 deep,
a 300-character model name: each was a traceback (exit 3). Each is now one located line (exit 1).
Permissions are tested as root without CAP_DAC_OVERRIDE (setpriv), so they hold for root too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from .conftest import make_model, need_tool, one_error, remove_deep, run

BUILD = ["build", "model", "--builder", "oci", "--image", "r.example.com/m", "--version", "1.0.0"]


def without_dac_override() -> list[str]:
    """A prefix that runs a command as this user without the power to ignore file permissions."""
    if os.geteuid() != 0:
        return []  # permissions already apply
    return [need_tool("setpriv"), "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search"]


def test_an_unreadable_subfolder_is_located(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "secret").mkdir()
    (folder / "secret" / "weights.bin").write_bytes(b"w")
    os.chmod(folder / "secret", 0)
    try:
        prefix = without_dac_override()
        check = run(["contract", "check", "model"], tmp_path, prefix=prefix)
        assert check.returncode == 1, check.stdout + check.stderr
        assert check.stdout.startswith("model/secret: error: payload folder secret cannot be listed: "
                                       "Permission denied"), check.stdout
        assert check.stdout.splitlines()[0].endswith("[payload-unreadable]")
        for args in (["render", "model", "--output", "ctx"], ["pipeline", "model"]):
            assert "payload folder secret cannot be listed" in one_error(run(args, tmp_path, prefix=prefix))
        # left out with .hydroignore, it is nobody's business
        (folder / ".hydroignore").write_text("secret\n")
        assert run(["render", "model", "--output", "ctx"], tmp_path, prefix=prefix).returncode == 0
    finally:
        os.chmod(folder / "secret", stat.S_IRWXU)


def _read_only(path: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            os.chmod(Path(dirpath, name), 0o555 if Path(dirpath, name).is_dir() else 0o444)
    os.chmod(path, 0o555)


def _writable(path: Path) -> None:
    for dirpath, dirnames, _ in os.walk(path):
        os.chmod(dirpath, 0o755)
        for name in dirnames:
            os.chmod(Path(dirpath, name), 0o755)


def test_a_read_only_model_folder_is_one_line(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    _read_only(folder)
    try:
        prefix = without_dac_override()
        # an output inside the read-only folder: one line
        for args in (["render", "model", "--output", "model/ctx"], [*BUILD, "--output", "model/ctx"]):
            line = one_error(run(args, tmp_path, prefix=prefix))
            assert "cannot write the build context to" in line and "Permission denied" in line
        # the default context lives in ./.hydro-ci/<model>, outside the folder: nothing to refuse
        assert run(["render", "model"], tmp_path, prefix=prefix).returncode == 0
        assert (tmp_path / ".hydro-ci/iris-sklearn/context/Dockerfile").is_file()
        assert run(["render", "model", "--output", "ctx"], tmp_path, prefix=prefix).returncode == 0
        assert run(["contract", "check", "model"], tmp_path, prefix=prefix).returncode == 0
    finally:
        _writable(folder)


def test_a_read_only_working_directory_is_one_line(tmp_path: Path) -> None:
    make_model(tmp_path)
    os.chmod(tmp_path, 0o555)
    try:
        prefix = without_dac_override()
        cache = {"HYDRO_CI_CACHE": str(tmp_path.parent / f"{tmp_path.name}-cache")}  # writable
        for args in (["pipeline", "model"], [*BUILD, "--output-layout", "layout"]):
            line = one_error(run(args, tmp_path, prefix=prefix, env=cache))
            assert "Permission denied" in line, line
    finally:
        os.chmod(tmp_path, 0o755)


def test_folders_nested_1100_deep_are_located(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    here = os.getcwd()
    try:
        os.chdir(folder)
        for _ in range(1100):  # os.makedirs itself recurses once per level
            os.mkdir("a")
            os.chdir("a")
        Path("x.txt").write_text("x")
        os.chdir(here)
        check = run(["contract", "check", "model"], tmp_path)
        assert check.returncode == 1 and "nested more than 100 folders deep" in check.stdout, check.stderr
        assert "Traceback" not in check.stderr
        for args in (["render", "model", "--output", "ctx"], ["pipeline", "model"]):
            assert "nested more than 100 folders deep" in one_error(run(args, tmp_path))
    finally:
        os.chdir(here)
        remove_deep(folder / "a")


@pytest.mark.parametrize("command", [["contract", "check", "model"], ["pipeline", "model"],
                                     ["render", "model", "--output", "ctx"]])
def test_a_300_character_model_name_is_located(tmp_path: Path, command: list[str]) -> None:
    folder = make_model(tmp_path)
    text = (folder / "serving.yaml").read_text().replace("name: iris-sklearn", "name: " + "a" * 300)
    (folder / "serving.yaml").write_text(text)
    proc = run(command, tmp_path)
    line = proc.stdout.splitlines()[0] if command[1:2] == ["check"] else one_error(proc)
    assert proc.returncode == 1 and "is 300 characters long; at most 128 [bad-name]" in line
    assert line.startswith("model/serving.yaml:")
