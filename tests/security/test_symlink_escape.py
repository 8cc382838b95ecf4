"""Attack: a symlink in the model folder reaches a file of the build host.

A pull request adds ``env.txt -> /proc/self/environ`` (the CI job's environment: registry password)
or ``notes.txt -> ~/.docker/config.json`` (its logins), with or without a ``payload:`` list. Every
shipped file is resolved and must be a regular file inside the model folder: ``contract check``
names it (file, rule), render/build/pipeline refuse it in one line, and nothing is read from it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import SECRET, files_holding, make_model, one_error, refused, run


def _home_with_docker_login(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {"r.example.com": {"auth": SECRET}}}))
    return home


LINKS = {
    "env.txt": "/proc/self/environ",  # the registry password in the job's environment
    "notes.txt": "HOME/.docker/config.json",  # docker login's credentials
    "zero.bin": "/dev/zero",  # copied forever
}


@pytest.mark.parametrize("name", sorted(LINKS))
@pytest.mark.parametrize("payload", [False, True], ids=["whole-folder", "payload-list"])
def test_a_link_out_of_the_folder_is_refused_everywhere(tmp_path: Path, name: str, payload: bool) -> None:
    home = _home_with_docker_login(tmp_path)
    folder = make_model(tmp_path, payload=payload)
    # with a payload: list, the link sits inside a listed folder (a listed file link was always refused)
    link = folder / "src" / name if payload else folder / name
    os.symlink(LINKS[name].replace("HOME", str(home)), link)
    rel = link.relative_to(folder).as_posix()
    env = {"HOME": str(home), "HYDRO_CI_TEST_PASSWORD": SECRET}

    check = run(["contract", "check", "model"], tmp_path, env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"model/{rel}: error: payload file {rel} is a symlink to " in check.stdout
    assert check.stdout.rstrip().endswith("[payload-escapes]") and "Traceback" not in check.stderr

    for args in (["render", "model", "--output", "ctx"],
                 ["build", "model", "--builder", "oci", "--image", "r.example.com/m", "--version", "1.0.0",
                  "--output-layout", "layout"],
                 ["pipeline", "model", "--dist", "dist"]):
        proc = run(args, tmp_path, env=env, timeout=60)  # /dev/zero: a copy that never ends fails here
        if args[0] == "pipeline":  # its check stage prints the located problem, then stops
            assert proc.returncode == 1 and "[payload-escapes]" in proc.stdout + proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr
        else:
            assert f"payload file {rel} is a symlink to " in one_error(proc)
    assert files_holding(tmp_path / "model", SECRET.encode()) == []  # nothing copied into the folder
    for out in ("ctx", "layout", "dist", ".hydro-ci", ".cache-hydro"):
        if (tmp_path / out).exists():
            assert files_holding(tmp_path / out, SECRET.encode()) == [], out
            assert files_holding(tmp_path / out, b"HYDRO_CI_TEST_PASSWORD") == [], out


def test_links_that_stay_inside_ship_their_targets_bytes(tmp_path: Path) -> None:
    """As docs/build.md says: a link to a file inside is copied as that file, a link to a folder
    inside as that folder's files (the image holds no symlink into the build host)."""
    folder = make_model(tmp_path)
    (folder / "weights").mkdir()
    (folder / "weights" / "w.bin").write_bytes(b"w" * 10)
    os.symlink("../requirements.txt", folder / "src" / "reqs.txt")
    os.symlink("weights", folder / "current")
    proc = run(["render", "model", "--output", "ctx"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = tmp_path / "ctx" / "model" / "files"
    assert not (files / "src" / "reqs.txt").is_symlink()
    assert (files / "src" / "reqs.txt").read_bytes() == (folder / "requirements.txt").read_bytes()
    assert (files / "current" / "w.bin").read_bytes() == b"w" * 10 and not (files / "current").is_symlink()


@pytest.mark.parametrize(("make", "rule"), [
    (lambda f: os.symlink("nowhere.py", f / "src" / "gone.py"), "payload-missing"),
    (lambda f: (os.symlink("b", f / "a"), os.symlink("a", f / "b")), "payload-loop"),
    (lambda f: os.symlink("..", f / "src" / "up"), "payload-loop"),  # the folder holding the link
    (lambda f: (os.mkfifo(f / "pipe"), os.symlink("pipe", f / "to-pipe")), "payload-special"),
    (lambda f: os.symlink(".git/config", f / "config"), "payload-escapes"),  # into version control data
])
def test_links_that_cannot_ship_are_located_and_refused(tmp_path: Path, make: object, rule: str) -> None:
    folder = make_model(tmp_path)
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[http]\n\textraheader = AUTHORIZATION: basic " + SECRET)
    make(folder)  # type: ignore[operator]
    check = run(["contract", "check", "model"], tmp_path, timeout=60)
    assert check.returncode == 1 and check.stdout.rstrip().endswith(f"[{rule}]"), check.stdout
    assert all(line.endswith(f"[{rule}]") for line in refused(run(["render", "model", "--output", "ctx"],
                                                                  tmp_path, timeout=60)))


def test_a_fifo_that_is_not_a_link_is_skipped_not_opened(tmp_path: Path) -> None:
    """FIFOs and sockets are skipped (docs/build.md): opening one would block the render."""
    folder = make_model(tmp_path)
    os.mkfifo(folder / "pipe")
    assert run(["contract", "check", "model"], tmp_path, timeout=60).returncode == 0
    proc = run(["render", "model", "--output", "ctx"], tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "ctx" / "model" / "files" / "pipe").exists()


def test_an_ignored_link_is_nobodys_business(tmp_path: Path) -> None:
    """A local virtualenv's links to the host's python, left out by .hydroignore, are no problem."""
    folder = make_model(tmp_path)
    (folder / ".venv" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", folder / ".venv" / "bin" / "python")
    (folder / ".hydroignore").write_text(".venv\n")
    assert run(["contract", "check", "model"], tmp_path).returncode == 0
    assert run(["render", "model", "--output", "ctx"], tmp_path).returncode == 0


def test_inference_never_reads_a_model_file_linked_out_of_the_folder(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    outside = tmp_path / "secret.onnx"
    outside.write_bytes(b"\x08\x07\x12\x04" + SECRET.encode())  # sniffs as ONNX
    os.remove(folder / "model.joblib")
    os.symlink(outside, folder / "model.onnx")
    proc = run(["contract", "infer", "model"], tmp_path)
    assert proc.returncode == 1 and "no model file" in proc.stderr, proc.stderr  # it was never opened
    assert "model.onnx" not in proc.stderr


def test_an_entry_elsewhere_in_the_repository_keeps_its_links_inside_it(tmp_path: Path) -> None:
    """Hydrosphere's layout lets a payload entry name shared code elsewhere in the repository
    (hydro_ci.contract.payload); its files, too, must be regular files, inside the repository."""
    (tmp_path / ".git").mkdir()  # the repository's root
    folder = make_model(tmp_path, payload=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "util.py").write_text("x = 1\n")
    os.symlink("../model/requirements.txt", shared / "reqs.txt")  # inside the repository: fine
    text = (folder / "serving.yaml").read_text()
    (folder / "serving.yaml").write_text(text.replace('  - "src/"\n', '  - "src/"\n  - "../shared/"\n'))
    assert run(["render", "model", "--output", "ctx"], tmp_path).returncode == 0
    shipped = tmp_path / "ctx/model/files/shared/reqs.txt"
    assert shipped.read_bytes() == (folder / "requirements.txt").read_bytes()
    os.symlink("/proc/self/environ", shared / "env.txt")
    check = run(["contract", "check", "model"], tmp_path, env={"HYDRO_CI_TEST_PASSWORD": SECRET})
    assert check.returncode == 1, check.stdout
    assert ("payload file ../shared/env.txt is a symlink to /proc/self/environ, which leads outside the "
            "repository") in check.stdout
    line = one_error(run(["render", "model", "--output", "ctx2"], tmp_path))
    assert "payload file ../shared/env.txt" in line
    assert not (tmp_path / "ctx2").exists() or files_holding(tmp_path / "ctx2", SECRET.encode()) == []
