"""The render/build/push verbs end to end, as a user runs them (serving.yaml, subprocess, stdin)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wheelkit import write_wheel

pytest.importorskip("hydro_ci.contract.serving", reason="the serving.yaml loader is not in this tree yet")

SERVING = """\
kind: Model
name: titanic
runtime: "{runtime}"
install-command: "{install}"
payload: ["src/", "requirements.txt", "wheels/"]
contract:
  name: infer
  inputs:
    pclass: {{shape: scalar, type: int32, profile: categorical}}
  outputs:
    survived: {{shape: scalar, type: int64, profile: categorical}}
metadata:
  team: ml
"""


def hydro_ci(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # cwd: where .hydro-ci/ (the rendered context) lands; the tests give their tmp_path
    return subprocess.run([sys.executable, "-m", "hydro_ci", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, "CI": "true", **(env or {})}, timeout=300, cwd=cwd)


def write_folder(root: Path, runtime: str, install: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src/func_main.py").write_text("def infer(pclass):\n    return {'survived': 1}\n")
    (root / "requirements.txt").write_text("hydrotiny==1.0\n")
    write_wheel(root / "wheels")
    (root / "serving.yaml").write_text(SERVING.format(runtime=runtime, install=install))
    return root


def test_render_twice_is_identical(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", "python:3.11", "pip install -r requirements.txt")
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    a = hydro_ci("render", str(folder), "--output", str(tmp_path / "a"), "--version", "1.0.0", env=env)
    b = hydro_ci("render", str(folder), "--output", str(tmp_path / "b"), "--version", "1.0.0", env=env)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    for name in ("Dockerfile", "plan.json", "model/contract.protobin", "model/files/src/func_main.py"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.engine
@pytest.mark.registry
def test_build_push_json(python_base: str, registry: Any, unique_repo: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", python_base,
                          "pip install --no-index --find-links wheels -r requirements.txt")
    image = f"{registry.host}/{unique_repo}"
    proc = hydro_ci("build", str(folder), "--image", image, "--version", "0.1.0", "--tag", "latest",
                    "--builder", "docker", "--push", "--username", registry.username, "--password-stdin",
                    "--json", stdin=registry.password + "\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert registry.password not in proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["image"] == image and result["tags"] == ["0.1.0", "latest"]
    assert result["id"].startswith("sha256:") and result["digest"].startswith("sha256:")
    assert "[build] Step 1/" in proc.stderr  # plain progress lines in CI

    # push again through the push verb: the version tag already holds this image
    proc = hydro_ci("push", "--image", image, "--version", "0.1.0", "--username", registry.username,
                    "--password-stdin", "--json", stdin=registry.password)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["unchanged"] is True
    assert registry.password not in proc.stdout + proc.stderr


@pytest.mark.engine
def test_cli_errors_are_one_line_with_a_hint(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", "busybox:1", "true")
    proc = hydro_ci("build", str(folder), "--image", "example.com/t/m", "--version", "1.0.0", "--builder",
                    "docker", "--base-image", "scratch",  # no base lookup: the engine is asked first anyway
                    env={"DOCKER_HOST": "tcp://127.0.0.1:9"}, cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: no Docker engine reachable at tcp://127.0.0.1:9")
    assert lines[1].startswith("hint: ") and len(lines) == 2
    proc = hydro_ci("push", "--image", "example.com/t/m", "--version", "1.0.0", "--username", "u")
    assert proc.returncode == 2 and "--password-stdin" in proc.stderr


@pytest.mark.engine
@pytest.mark.parametrize("config", [
    {"credsStore": "hydro-ci-no-such-helper"},
    {"auths": {"127.0.0.1:5000": {"auth": "!!!notbase64"}}},
])
def test_a_broken_docker_config_is_one_line(busybox_base: str, tmp_path: Path,
                                            config: dict[str, Any]) -> None:
    folder = write_folder(tmp_path / "m", busybox_base, "true")
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc/config.json").write_text(json.dumps(config))
    out = hydro_ci("build", str(folder), "--image", "127.0.0.1:5000/hydro-ci-test/dc", "--version", "1.0.0",
                   "--builder", "docker", env={"DOCKER_CONFIG": str(tmp_path / "dc")}, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stderr.splitlines() if not line.startswith("[build]")]
    assert lines[0].startswith("error: cannot read the registry logins in Docker's config.json")
    assert len(lines) == 2 and lines[1].startswith("hint: ") and "Traceback" not in out.stderr


@pytest.mark.engine
@pytest.mark.registry
def test_a_refused_push_moves_no_local_version_tag(busybox_base: str, registry: Any, unique_repo: str,
                                                   tmp_path: Path, docker_client: Any) -> None:
    folder = write_folder(tmp_path / "m", busybox_base, "true")
    image = f"{registry.host}/{unique_repo}"
    build = ("build", str(folder), "--image", image, "--version", "1.0.0", "-t", "latest", "--builder",
             "docker", "--json")
    push = ("--push", "--username", registry.username, "--password-stdin")

    def local_tags() -> dict[str, str]:
        return {t: img.id for img in docker_client.images.list(name=image) for t in img.tags}

    try:
        first = hydro_ci(*build, *push, stdin=registry.password, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        first_id = json.loads(first.stdout)["id"]
        # Built under a temporary tag, tagged once pushed: nothing else is left behind.
        assert local_tags() == {f"{image}:1.0.0": first_id, f"{image}:latest": first_id}

        (folder / "src/func_main.py").write_text("def infer(pclass):\n    return {'survived': 0}\n")
        second = hydro_ci(*build, *push, stdin=registry.password, cwd=tmp_path)
        assert second.returncode == 1
        assert "already holds" in second.stderr and "version tags are never reused" in second.stderr
        assert local_tags() == {f"{image}:1.0.0": first_id, f"{image}:latest": first_id}  # nothing moved

        # Without --push the local tags are set by the build, as always.
        third = hydro_ci(*build, cwd=tmp_path)
        assert third.returncode == 0, third.stderr
        third_id = json.loads(third.stdout)["id"]
        assert third_id != first_id
        assert local_tags() == {f"{image}:1.0.0": third_id, f"{image}:latest": third_id}
    finally:
        for ref in local_tags():
            docker_client.images.remove(ref, force=True)
