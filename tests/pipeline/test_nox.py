"""hydro-ci's nox sessions: one line in a user's noxfile, run by the real nox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, copy_example, init_repo, read_json


def nox(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)


def test_register_sessions_into_a_namespace() -> None:
    from hydro_ci.integrations.nox import register_sessions

    def render(session: object) -> None:  # the project's own: kept
        pass

    namespace: dict[str, object] = {"render": render}
    registered = register_sessions(namespace, models=["m"])
    assert sorted(registered) == ["build_model", "check_contracts", "infer_contract"]
    assert namespace["render"] is render
    assert callable(namespace["build_model"])


def test_a_user_noxfile_runs_build_model_on_the_folder_after_dashes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    copy_example("iris-sklearn", project / "models")
    (project / "noxfile.py").write_text(
        "from hydro_ci.integrations.nox import register_sessions\n"
        "register_sessions(globals(), models=['models/iris-sklearn'])\n")
    listed = nox(["-l"], project)
    assert listed.returncode == 0, listed.stderr
    for name in ("build_model", "check_contracts", "infer_contract", "render"):
        assert name in listed.stdout
    # --no-venv: use the hydro-ci installed here instead of installing it from PyPI
    proc = nox(["--no-venv", "-s", "build_model"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = read_json(project / ".hydro-ci/iris-sklearn/summary.json")
    assert (project / summary["layout"] / "index.json").is_file()
    proc = nox(["--no-venv", "-s", "build_model", "--", "models/iris-sklearn", "--dry-run"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "release plan for iris-sklearn" in proc.stdout + proc.stderr


def test_build_model_installs_hydro_ci_into_its_virtualenv(tmp_path: Path) -> None:
    """The default path: nox makes a virtualenv and the session installs hydro-ci into it."""
    project = tmp_path / "project"
    copy_example("onnx-linear", project / "models")
    # system site packages: the dependencies are already here, so only hydro-ci itself is installed
    (project / "noxfile.py").write_text(
        "from hydro_ci.integrations.nox import register_sessions\n"
        f"register_sessions(globals(), models=['models/onnx-linear'], install=[{str(REPO)!r}],\n"
        "                  venv_params=['--system-site-packages'])\n")
    proc = nox(["-s", "build_model", "--", "models/onnx-linear", "--dry-run"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pip install" in proc.stderr  # nox logs the session's install
    assert "release plan for onnx-linear" in proc.stdout + proc.stderr
    assert list((project / ".nox").glob("build_model*/bin/hydro-ci"))


def test_the_project_noxfile_has_the_sessions_the_readme_names() -> None:
    listed = nox(["-l"], REPO)
    assert listed.returncode == 0, listed.stderr
    for name in ("build_model", "check_contracts", "infer_contract", "render", "tests", "lint", "bench"):
        assert f"{name} ->" in listed.stdout


USER_MODEL = """kind: Model
name: {name}
runtime: "acme/runtime:1.0"
payload: ["src/"]
contract:
  name: infer
  inputs:
    x: {{shape: scalar, type: float32}}
  outputs:
    y: {{shape: scalar, type: float32}}
hydro-ci:
  base-image: scratch
"""


def user_repository(root: Path) -> Path:
    """A model repository as a user has it: two model folders, a noxfile with the one line, git."""
    for rel in ("models/alpha", "team/nested/beta"):
        folder = root / rel
        (folder / "src").mkdir(parents=True)
        (folder / "src/func_main.py").write_text("def infer(x):\n    return {'y': x}\n")
        # hs 2.x read serving.yml too: the sessions find both
        serving = "serving.yml" if folder.name == "beta" else "serving.yaml"
        (folder / serving).write_text(USER_MODEL.format(name=folder.name))
    (root / "noxfile.py").write_text("from hydro_ci.integrations.nox import register_sessions\n"
                                     "register_sessions(globals())\n")
    return init_repo(root)


def test_a_user_repository_builds_its_own_models_with_the_running_hydro_ci(tmp_path: Path) -> None:
    project = user_repository(tmp_path / "project")
    listed = nox(["-l"], project)
    assert listed.returncode == 0, listed.stderr
    proc = nox(["-s", "build_model"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The session's virtualenv got this hydro-ci (the checkout the tests run), not one from an index.
    installs = [line for line in proc.stderr.splitlines() if "nox > python -m pip install" in line]
    assert installs and str(REPO) in installs[0], proc.stderr
    assert list((project / ".nox").glob("build_model*/bin/hydro-ci"))
    # Every model folder of the repository was built; nothing of hydro-ci's own examples.
    for name in ("alpha", "beta"):
        summary = read_json(project / f".hydro-ci/{name}/summary.json")
        assert (project / summary["layout"] / "index.json").is_file()
    assert "iris" not in proc.stdout + proc.stderr
    checked = nox(["-s", "check_contracts"], project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 model folders checked, 0 problems" in checked.stdout


def test_flags_for_one_model_need_the_folder_named_when_there_are_several(tmp_path: Path) -> None:
    project = user_repository(tmp_path / "project")
    proc = nox(["--no-venv", "-s", "build_model", "--", "--image", "r.example/acme/x"], project)
    assert proc.returncode != 0
    assert ("--image names one model's result, and there are 2 model folders (models/alpha, "
            "team/nested/beta); name the folder first: nox -s build_model -- models/alpha --image …"
            in proc.stderr)
    one = nox(["--no-venv", "-s", "build_model", "--", "team/nested/beta", "--dry-run"], project)
    assert one.returncode == 0, one.stdout + one.stderr
    assert "release plan for beta" in one.stdout + one.stderr
    assert not (project / ".hydro-ci/alpha").exists()


def test_no_model_folder_is_one_line_that_says_how_to_name_one(tmp_path: Path) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    (project / "noxfile.py").write_text("from hydro_ci.integrations.nox import register_sessions\n"
                                        "register_sessions(globals())\n")
    proc = nox(["--no-venv", "-s", "render"], project)
    assert proc.returncode != 0
    assert f"no model folder (serving.yaml, serving.yml or contract.prototxt) under {project}" in proc.stderr
    assert "name one: nox -s render -- path/to/model" in proc.stderr


@pytest.mark.parametrize(("direct", "args"), [
    ({"url": "https://github.com/hydro-ci/hydro-ci", "vcs_info": {"vcs": "git", "commit_id": "a" * 40,
                                                                  "requested_revision": "main"}},
     ["hydro-ci @ git+https://github.com/hydro-ci/hydro-ci@" + "a" * 40]),
    ({"url": "https://example.com/hydro_ci-0.1.0-py3-none-any.whl",
      "archive_info": {"hashes": {"sha256": "b" * 64}}},
     ["hydro-ci @ https://example.com/hydro_ci-0.1.0-py3-none-any.whl#sha256=" + "b" * 64]),
    ({"url": "file:///src/hydro%20ci", "dir_info": {"editable": True}}, ["-e", "/src/hydro ci"]),
    ({"url": "file:///src/mono", "dir_info": {}, "subdirectory": "tools/hydro-ci"},
     ["/src/mono/tools/hydro-ci"]),
    ({"url": "https://github.com/acme/mono", "vcs_info": {"vcs": "git", "commit_id": "c" * 40},
      "subdirectory": "hydro-ci"},
     ["hydro-ci @ git+https://github.com/acme/mono@" + "c" * 40 + "#subdirectory=hydro-ci"]),
])
def test_what_pip_recorded_becomes_what_the_sessions_install(direct: dict[str, Any], args: list[str]) -> None:
    from hydro_ci.integrations.nox import install_from_direct_url

    assert install_from_direct_url(direct) == args


def test_an_installed_wheel_installs_itself_again(tmp_path: Path) -> None:
    """Not a checkout: a wheel installed from an index is pinned by version, from a file by its URL."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True)
    wheel = next(wheels.glob("hydro_ci-*.whl"))
    version = wheel.name.split("-")[1]
    ask = "from hydro_ci.integrations.nox import default_install; print(default_install())"
    for how, expected in (
        (["--no-index", "--find-links", str(wheels), "hydro-ci"], f"['hydro-ci=={version}']"),
        ([str(wheel)], f"['hydro-ci @ {wheel.as_uri()}#sha256="),
    ):
        venv = tmp_path / f"venv-{len(how)}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([venv / "bin/python", "-m", "pip", "install", "-q", "--no-deps", *how], check=True,
                       capture_output=True)
        out = subprocess.run([venv / "bin/python", "-c", ask], check=True, capture_output=True, text=True,
                             cwd=tmp_path)
        assert out.stdout.startswith(expected), out.stdout


@pytest.fixture(scope="module")
def nox_alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `nox` command of a virtualenv holding nox and nothing of hydro-ci (as `pipx install nox`)."""
    from importlib import metadata

    venv = tmp_path_factory.mktemp("nox-alone") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin/python", "-m", "pip", "install", "-q", f"nox=={metadata.version('nox')}"],
                   check=True, capture_output=True)
    return venv / "bin/nox"


def test_nox_alone_lists_this_repositorys_sessions(nox_alone: Path) -> None:
    # The console script puts no working directory on sys.path: only the noxfile's own line does.
    listed = subprocess.run([nox_alone, "-l"], cwd=REPO, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "build_model ->" in listed.stdout and "tests ->" in listed.stdout


SCRIPT_MODE_NOX = (2025, 2, 9)  # the first nox that reads a noxfile's `# /// script` block


def test_nox_alone_in_a_user_repository_installs_hydro_ci_from_the_noxfiles_script_block(
        nox_alone: Path, tmp_path: Path) -> None:
    from importlib import metadata

    version = metadata.version("nox")
    if tuple(int(part) for part in version.split(".")[:3]) < SCRIPT_MODE_NOX:
        pytest.skip(f"nox {version} ignores a noxfile's script block (nox 2025.2.9 reads it; "
                    "README says so)")
    project = user_repository(tmp_path / "project")
    (project / "noxfile.py").write_text(
        f'# /// script\n# dependencies = ["nox", "hydro-ci @ {REPO.as_uri()}"]\n# ///\n'
        "from hydro_ci.integrations.nox import register_sessions\n\nregister_sessions(globals())\n")
    proc = subprocess.run([nox_alone, "-s", "render"], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The session installs what the noxfile's block named: the same source, not an index's hydro-ci.
    assert f"nox > python -m pip install {REPO}\n" in proc.stderr
    rendered = [p for p in project.glob("**/Dockerfile") if ".nox" not in p.parts]
    assert len(rendered) == 2, rendered  # one context per model folder of the repository
