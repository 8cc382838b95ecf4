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
    ("numpy --config-settings=x=y", "local folder or source archive"),
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
