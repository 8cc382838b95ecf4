"""The CLI over the daemonless builder: build --builder oci (layout, tarball, push, --json) and push."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.image import layout

SERVING = """kind: Model
name: clidemo
runtime: "hydro-ci-test/busybox:1"
payload: ["src/", "weights.bin"]
contract:
  name: infer
  inputs:
    x: {shape: scalar, type: float32}
  outputs:
    y: {shape: scalar, type: float32}
"""


def hydro(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "CI": "true"}
    return subprocess.run([sys.executable, "-m", "hydro_ci", *args], capture_output=True, text=True,
                          input=stdin, env=env, cwd=cwd)


def test_oci_options_are_refused_with_the_docker_builder(tmp_path: Path) -> None:
    out = hydro("build", str(tmp_path), "--image", "r.example/x", "--version", "1.0.0",
                "--builder", "docker", "--output-layout", str(tmp_path / "oci"), cwd=tmp_path)
    assert out.returncode == 2 and "--output-layout needs --builder oci" in out.stderr


def test_push_oci_needs_a_layout() -> None:
    out = hydro("push", "--builder", "oci", "--image", "r.example/x", "--version", "1.0.0")
    assert out.returncode == 2 and "error: --builder oci needs --layout DIR" in out.stderr


@pytest.mark.engine
@pytest.mark.registry
def test_build_oci_writes_layout_and_tar_then_pushes_with_json(busybox_layout: Path, registry: Any,
                                                               unique_repo: str, tmp_path: Path) -> None:
    pytest.importorskip("hydro_ci.contract.serving", reason="the serving.yaml loader has not landed")
    model = tmp_path / "model"
    (model / "src").mkdir(parents=True)
    (model / "src/func_main.py").write_text("def infer(x):\n    return {'y': x}\n")
    (model / "weights.bin").write_bytes(os.urandom(2 << 20))
    (model / "serving.yaml").write_text(SERVING)
    image = f"{registry.host}/{unique_repo}"
    out = hydro("build", str(model), "--image", image, "--version", "1.0.0", "-t", "latest",
                "--builder", "oci", "--base-from", f"oci:{busybox_layout}:base",
                "--output-layout", str(tmp_path / "oci"), "--output-tar", str(tmp_path / "img.tar"),
                "--push", "--username", registry.username, "--password-stdin", "--json",
                stdin=registry.password + "\n", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["digest"] == data["id"] == str(layout.read_layout(tmp_path / "oci", "latest").manifest_digest)
    assert data["push"]["bytes_uploaded"] > 2 << 20 and data["push"]["unchanged"] is False
    assert [x["class"] for x in data["layers"]] == ["weights", "code", "contract"]
    assert registry.password not in out.stdout + out.stderr
    # One plain line per layer in CI, no byte counters.
    assert sum(line.startswith("[layer] ") for line in out.stderr.splitlines()) == 3
    assert "[hash]" not in out.stderr
    assert (tmp_path / "img.tar").stat().st_size > 2 << 20

    again = hydro("push", "--builder", "oci", "--layout", str(tmp_path / "oci"), "--image", image,
                  "--version", "1.0.0", "-t", "latest", "--username", registry.username,
                  "--password-stdin", "--json", stdin=registry.password + "\n")
    assert again.returncode == 0, again.stderr
    pushed = json.loads(again.stdout)
    assert (pushed["unchanged"], pushed["bytes_uploaded"], pushed["digest"]) == (True, 0, data["digest"])


def test_layout_with_the_docker_builder_is_a_usage_error(tmp_path: Path) -> None:
    out = hydro("push", "--builder", "docker", "--layout", str(tmp_path), "--image", "r.example/x",
                "--version", "1.0.0")
    assert out.returncode == 2 and "error: --layout needs --builder oci" in out.stderr
