"""Attack: a pull request commits the pipeline's own files, and a stage run alone trusts them.

``pipeline --only build`` (and every stage run alone) reads what earlier stages wrote into the
output folder, ``.hydro-ci/<model>/`` in the working directory: in CI, the pull request's checkout.
A committed ``context/plan.json`` made the daemonless build read a host file through a linked
folder and print its first line (a git credential) in the error; a committed ``links.json`` made it
stat host files and name them; a committed ``build.json``/``version.json`` put a digest that was
never built into the job summary. Every file a stage reads back must now carry a seal made with a
key that is not in the checkout (hydro_ci/seal.py); anything else is refused in one line, before it
is used. Genuine files from another machine (another key) are refused the same way, unless both
runs share ``HYDRO_CI_STATE_KEY``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .conftest import SECRET, files_holding, make_model, one_error, run

OUT = Path(".hydro-ci/iris-sklearn")
CREDENTIAL = f"https://bot:{SECRET}@github.com"


def _genuine_run(where: Path, env: dict[str, str] | None = None) -> Path:
    """The whole pipeline in ``where`` (a machine of its own: its cache, hence its key)."""
    where.mkdir(parents=True, exist_ok=True)
    make_model(where)
    proc = run(["pipeline", "model"], where, env=env)
    assert proc.returncode == 0, proc.stderr
    return where / OUT


def _checkout_with(tmp_path: Path, planted: Path) -> Path:
    """A pull request's checkout: the model folder, and a committed copy of ``planted`` (an output
    folder written on another machine) as its .hydro-ci/<model>/."""
    pr = tmp_path / "pr"
    pr.mkdir()
    make_model(pr)
    shutil.copytree(planted, pr / OUT, symlinks=True)
    return pr


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".git-credentials").write_text(CREDENTIAL + "\n")
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {"r.example.com": {"auth": SECRET}}}))
    return home


def _edit_plan(context: Path, change: dict[str, object], extra: list[dict[str, object]]) -> None:
    plan = json.loads((context / "plan.json").read_text())
    plan.update(change)
    plan["files"] = [*plan["files"], *extra]
    (context / "plan.json").write_text(json.dumps(plan))


def _assert_nothing_leaked(proc_out: str, pr: Path, *needles: str) -> None:
    for needle in needles:
        assert needle not in proc_out
        assert files_holding(pr / "model", needle.encode()) == []
        assert not (pr / "dist").exists() or files_holding(pr / "dist", needle.encode()) == []


@pytest.mark.parametrize("stage", ["build", "plan"])
def test_a_committed_plan_never_makes_hydro_ci_read_a_host_file(tmp_path: Path, stage: str) -> None:
    home = _home(tmp_path)
    pr = _checkout_with(tmp_path, _genuine_run(tmp_path / "elsewhere"))
    context = pr / OUT / "context"
    # a folder link in the committed context, and a plan whose install reads a file through it
    os.symlink(home, context / "model/files/sub")
    _edit_plan(context, {"install_command": "pip install -r sub/.git-credentials"},
               [{"path": "model/files/sub/.git-credentials", "layer": "deps", "mode": "0644", "size": 10,
                 "sha256": "0" * 64, "image_path": "/model/files/sub/.git-credentials"}])
    proc = run(["pipeline", "model", "--only", stage], pr, env={"HOME": str(home)})
    line = one_error(proc)
    assert "was not written by hydro-ci" in line  # main printed the credential's line here
    _assert_nothing_leaked(proc.stdout + proc.stderr, pr, SECRET)


def test_a_committed_links_file_is_never_followed(tmp_path: Path) -> None:
    home = _home(tmp_path)
    pr = _checkout_with(tmp_path, _genuine_run(tmp_path / "elsewhere"))
    context = pr / OUT / "context"
    target = home / ".docker" / "config.json"
    st = target.stat()
    rel = "model/files/model.joblib"
    for tree in (context / rel, context / "layers/weights" / rel):
        tree.unlink()
        os.symlink(target, tree)
    links = {rel: {"source": str(target), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                   "ctime_ns": st.st_ctime_ns, "dev": st.st_dev, "ino": st.st_ino}}
    (context / "links.json").write_text(json.dumps({"schema": 1, "links": links}))
    for stage in ("build", "plan"):
        proc = run(["pipeline", "model", "--only", stage], pr, env={"HOME": str(home)})
        line = one_error(proc)
        assert "was not written by hydro-ci" in line and str(target) not in line
        _assert_nothing_leaked(proc.stdout + proc.stderr, pr, SECRET)
    assert not (pr / "dist").exists()


@pytest.mark.parametrize(("planted", "reader"), [
    ("contract.json", "version"),
    ("version.json", "render"),
    ("context/plan.json", "plan"),
    ("context/plan.json", "build"),
    ("build.json", "push"),
])
def test_every_stage_file_from_elsewhere_is_refused(tmp_path: Path, planted: str, reader: str) -> None:
    """The checkout's own run wrote (and sealed) every file; one of them is then replaced by a
    committed one, here a genuine file of another machine with its seal: it is refused all the same."""
    other = _genuine_run(tmp_path / "elsewhere")
    pr = tmp_path / "pr"
    mine = _genuine_run(pr)
    for name in (planted, f"{Path(planted).parent}/.{Path(planted).name}.seal"):
        if (other / name).exists():  # (on main there were no seals: the planted file alone)
            shutil.copyfile(other / name, mine / name)
    args = ["--push", "--image", "127.0.0.1:9/never"] if reader == "push" else []
    line = one_error(run(["pipeline", "model", "--only", reader, *args], pr))
    assert f"{OUT / planted} was not written by hydro-ci with this key" in line


def test_the_summary_reports_no_build_a_checkout_committed(tmp_path: Path) -> None:
    pr = _checkout_with(tmp_path, _genuine_run(tmp_path / "elsewhere"))
    build = json.loads((pr / OUT / "build.json").read_text())
    planted = "sha256:" + "d" * 64
    build["digest"] = planted
    (pr / OUT / "build.json").write_text(json.dumps(build))
    proc = run(["pipeline", "model", "--only", "summary"], pr)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((pr / OUT / "summary.json").read_text())
    assert summary["build"] is None and summary["version"] is None  # main reported both
    assert planted not in (pr / OUT / "summary.md").read_text()


def test_a_pipeline_split_across_machines_shares_one_key(tmp_path: Path) -> None:
    key = {"HYDRO_CI_STATE_KEY": "k" * 40}
    first = _genuine_run(tmp_path / "one", env=key)
    second = tmp_path / "two"
    second.mkdir()
    make_model(second)
    shutil.copytree(first, second / OUT, symlinks=True)  # the output folder, carried as an artifact
    shutil.copytree(first.parents[1] / "dist", second / "dist", symlinks=True)
    line = one_error(run(["pipeline", "model", "--only", "build"], second))  # no key: another machine's
    assert "HYDRO_CI_STATE_KEY" in run(["pipeline", "model", "--only", "build"], second).stderr
    assert "was not written by hydro-ci with this key" in line
    proc = run(["pipeline", "model", "--only", "build", "--only", "summary"], second, env=key)
    assert proc.returncode == 0, proc.stderr
    short = run(["pipeline", "model", "--only", "build"], second, env={"HYDRO_CI_STATE_KEY": "short"})
    assert short.returncode == 2 and "at least 32 characters" in short.stderr


def test_a_push_alone_sends_only_the_image_the_build_made(tmp_path: Path) -> None:
    """dist/ lies in the checkout too: a layout whose tag names another image (here one built from
    another model folder) is refused before any registry is contacted."""
    pr = tmp_path / "pr"
    _genuine_run(pr)
    other = tmp_path / "elsewhere"
    other.mkdir()
    folder = make_model(other)
    (folder / "src" / "extra.py").write_text("print('not what the build stage built')\n")
    assert run(["pipeline", "model"], other).returncode == 0
    layout = "dist/iris-sklearn-0.1.0.oci"
    shutil.rmtree(pr / layout)
    shutil.copytree(other / layout, pr / layout)
    line = one_error(run(["pipeline", "model", "--only", "push", "--push", "--image", "127.0.0.1:9/never"],
                         pr))
    assert f"{layout}:0.1.0 is sha256:" in line and "not the image the build stage made" in line
