"""Attack: the model folder's code runs on the build host.

The daemonless builder (and ``pipeline --dry-run``, which plans its layers) runs pip on the build
host for ``install-command: pip install -r requirements.txt``. ``--only-binary`` does not stop pip
building a local folder (running its setup.py), an sdist or a VCS URL, and a nested ``-r /etc/passwd``
made pip read (and echo in its error) a host file. pip may now only download and unpack wheels: named
requirements and wheel files; anything else is refused in one line before pip starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hydro_ci.render.install import PipInstall, host_install_refusal
from tests.wheelkit import WHEEL_MAGIC, write_wheel

from .conftest import make_model, one_error, run

SETUP_PY = """\
import pathlib
pathlib.Path({marker!r}).write_text("setup.py ran on the build host")
from setuptools import setup
setup(name="evil", version="1.0")
"""


def _folder_installing(tmp_path: Path, requirements: str) -> Path:
    folder = make_model(tmp_path)
    text = (folder / "serving.yaml").read_text()
    (folder / "serving.yaml").write_text(text.replace("contract:", 'install-command: "pip install -r '
                                                                    'requirements.txt"\ncontract:', 1))
    (folder / "requirements.txt").write_text(requirements)
    (folder / "pkg").mkdir()
    (folder / "pkg" / "setup.py").write_text(SETUP_PY.format(marker=str(tmp_path / "PWNED")))
    return folder


BUILD = ["build", "model", "--builder", "oci", "--image", "r.example.com/m", "--version", "1.0.0",
         "--output-layout", "layout"]


@pytest.mark.parametrize("requirements", [
    "./pkg\n", "pkg/\n", "--no-index\n-e ./pkg\n", "-r sub.txt\n", "evil @ file:///{tmp}/model/pkg\n",
])
@pytest.mark.parametrize("command", [BUILD, ["pipeline", "model", "--dry-run"], ["pipeline", "model"]],
                         ids=["build", "dry-run", "pipeline"])
def test_a_local_package_never_runs_its_setup_py_on_the_host(tmp_path: Path, requirements: str,
                                                             command: list[str]) -> None:
    folder = _folder_installing(tmp_path, requirements.replace("{tmp}", str(tmp_path).lstrip("/")))
    (folder / "sub.txt").write_text("--no-index\n./pkg\n")
    line = one_error(run(command, tmp_path, env={"PIP_NO_INDEX": "1"}))
    assert "oci builder runs pip on this machine" in line and "pkg" in line
    assert not (tmp_path / "PWNED").exists()


def test_a_nested_requirements_file_outside_the_payload_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("TOPSECRET-first-line\n")
    _folder_installing(tmp_path, f"--no-index\n-r {secret}\n")
    proc = run(BUILD, tmp_path, env={"PIP_NO_INDEX": "1"})
    line = one_error(proc)
    assert "requirements.txt:2:" in line and "outside the model's payload" in line
    assert "TOPSECRET" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(("line", "planted"), [
    ("-r ..\\/..\\/..\\/etc/passwd", "..\\/..\\/..\\/etc/passwd"),  # pip: -r ../../../etc/passwd
    ("-c file:/etc/passwd", "file:/etc/passwd"),  # pip: a file: URL, read from the host
])
def test_a_nested_file_is_the_one_pip_reads(line: str, planted: str) -> None:
    """A payload may hold folders named ``..\\`` or ``file:``; what pip opens is not that file."""
    refusal = host_install_refusal(PipInstall(("requirements.txt",)),
                                   {**PAYLOAD, "requirements.txt": line + "\n", planted: "numpy\n"})
    assert refusal is not None and refusal.startswith("requirements.txt:1: ")
    assert "outside the model's payload" in refusal or "is a URL" in refusal


BACKEND = """\
import pathlib
pathlib.Path({marker!r}).write_text("the sdist's build backend ran on the build host")
"""


def _sdist(folder: Path, marker: Path) -> None:
    """wheels/evil-1.0.tar.gz: an sdist whose in-tree build backend (no build requirements: it needs no
    index) writes ``marker`` when pip prepares it."""
    import io
    import tarfile

    files = {"PKG-INFO": "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
             "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                               'backend-path = ["."]\n',
             "backend.py": BACKEND.format(marker=str(marker))}
    (folder / "wheels").mkdir()
    with tarfile.open(folder / "wheels" / "evil-1.0.tar.gz", "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"evil-1.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_requirements_file_cannot_undo_wheels_only(tmp_path: Path) -> None:
    """``--only-binary=:none:`` in requirements.txt cleared the builder's --only-binary=:all:: pip built
    an sdist of the payload's --find-links folder, running its build backend on the host."""
    folder = _folder_installing(tmp_path, "--only-binary=:none:\n--no-index\n--find-links ./wheels\nevil\n")
    _sdist(folder, tmp_path / "PWNED")
    line = one_error(run(BUILD, tmp_path, env={"PIP_NO_INDEX": "1"}))
    assert "requirements.txt:1:" in line and "wheels only" in line
    assert not (tmp_path / "PWNED").exists()


def test_wheels_in_the_payload_still_install(tmp_path: Path) -> None:
    folder = _folder_installing(tmp_path, "--no-index\n-r more/requirements.txt\n")
    write_wheel(folder / "wheels")
    (folder / "more").mkdir()
    # pip reads a requirement's path from its working directory, not from the file naming it
    (folder / "more" / "requirements.txt").write_text("wheels/hydrotiny-1.0-py3-none-any.whl\n")
    proc = run(BUILD, tmp_path, env={"PIP_NO_INDEX": "1"})
    assert proc.returncode == 0, proc.stderr
    installed = list((tmp_path / ".cache-hydro" / "pip").glob("*/hydrotiny/__init__.py"))
    assert len(installed) == 1 and WHEEL_MAGIC in installed[0].read_text()


PAYLOAD: dict[str, str | None] = {
    "requirements.txt": None,  # each case's text goes here
    "wheels/tiny-1.0-py3-none-any.whl": None,
    "pkg/setup.py": "import os\n",
    "pkg-1.0.tar.gz": None,
    "more.txt": "numpy\n",
}


@pytest.mark.parametrize(("text", "why"), [
    ("./pkg", "local folder or source archive"),
    ("pkg", None),  # a name (from the index, as a wheel): fine, even though a folder pkg/ exists
    ("pkg/", "local folder or source archive"),
    (".", "local folder or source archive"),
    ("pkg-1.0.tar.gz", "local folder or source archive"),
    ("-e ./pkg", "editable install"),
    ("--editable=.", "editable install"),
    ("git+https://github.com/acme/evil#egg=evil", "VCS URL"),
    ("evil @ git+https://github.com/acme/evil", "VCS URL"),
    ("evil @ https://example.org/evil-1.0.tar.gz", "not a wheel URL"),
    ("evil @ file:///srv/evil", "not a wheel URL"),
    ("-r /etc/passwd", "outside the model's payload"),
    ("-c ../../constraints.txt", "outside the model's payload"),
    ("--requirement=${HOME}/.netrc", "environment variable"),
    ("${EVIL}", "environment variable"),
    ("--no-binary :all:", "pip option --no-binary"),
    ("--find-links ./wheels", None),  # a wheelhouse in the payload (pip unpacks only wheels from it)
    ("--find-links /srv/wheels", "on disk"),
    ("-f ../wheels", "on disk"),
    ("-i file:///srv/simple", "on disk"),
    ("--global-option=--x", "pip option --global-option"),
    ("numpy --config-settings=x=y", "on a requirement line"),  # pip reads options after a requirement
    # pip applies a file's --only-binary to the builder's own: :none: undoes --only-binary=:all:
    ("--only-binary=:none:", "wheels only"),
    ("--only-binary :none:", "wheels only"),
    ("--only-binary=:all:,:none:", "wheels only"),
    ("numpy --hash=sha256:00 --only-binary=:none:", "on a requirement line"),
    ("numpy>=1 --hash=sha256:00 --hash=sha256:11", None),
    ('-r "more.txt"', None),  # pip unquotes an option's value as a shell would
    ("-r 'more.txt", "quote pip cannot close"),
    ("-r https://example.org/requirements.txt", "is a URL"),
    ("-r more.txt", None),
    ("wheels/tiny-1.0-py3-none-any.whl", None),
    ("missing-1.0-py3-none-any.whl", "not a wheel file of the model's payload"),
    ("../model/wheels/tiny-1.0-py3-none-any.whl", "not a wheel file of the model's payload"),
    ("tiny @ https://example.org/tiny-1.0-py3-none-any.whl#sha256=00", None),
    ("numpy>=1.26 ; python_version >= '3.10' --hash=sha256:00", None),
    ("--index-url https://pypi.example.org/simple", None),
    ("--only-binary=:all:", None),
])
def test_what_pip_may_do_on_the_build_host(text: str, why: str | None) -> None:
    refusal = host_install_refusal(PipInstall(("requirements.txt",)), {**PAYLOAD, "requirements.txt": text})
    if why is None:
        assert refusal is None
    else:
        assert refusal is not None and why in refusal and refusal.startswith("requirements.txt:1: ")
