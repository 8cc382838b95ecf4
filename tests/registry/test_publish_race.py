"""Two builds push one version: the registry has no create-only PUT, so every publisher re-checks each
immutable tag right before it writes it and reads it back after. Here the second build takes the
version while the first is still uploading (a real registry behind the fault proxy holds the first
build's upload until the second has finished): the first must refuse, whichever builder made it,
and the one that succeeded must report the digest the registry holds."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from faultproxy import Fault, FaultProxy

from hydro_ci.registry import client_for

pytestmark = [pytest.mark.engine, pytest.mark.registry]

SERVING = """kind: Model
name: racer
runtime: "{runtime}"
payload: ["src/"]
contract:
  name: infer
  inputs:
    x: {{shape: scalar, type: float32}}
  outputs:
    y: {{shape: scalar, type: float32}}
"""


def _folder(root: Path, runtime: str, code: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src/func_main.py").write_text(code)
    (root / "serving.yaml").write_text(SERVING.format(runtime=runtime))
    return root


def _build(folder: Path, image: str, builder: str) -> list[str]:
    args = [sys.executable, "-m", "hydro_ci", "build", str(folder), "--builder", builder, "--push",
            "--image", image, "--version", "5.0.0", "--output", str(folder.parent / f"ctx-{folder.name}"),
            "--json"]
    return args + (["--base-from", "scratch"] if builder == "oci" else [])


@pytest.mark.parametrize("builder", ["docker", "oci"])
def test_a_version_taken_during_the_upload_is_refused_and_never_overwritten(
        builder: str, busybox_base: str, open_registry: Any, unique_repo: str, tmp_path: Path,
        docker_client: Any) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "CI": "true"}
    first = _folder(tmp_path / "first", busybox_base, "def infer(x):\n    return {'y': 1}\n")
    second = _folder(tmp_path / "second", busybox_base, "def infer(x):\n    return {'y': 2}\n")
    try:
        with FaultProxy(open_registry.host) as proxy:
            # The first build's first blob upload is held: it has checked 5.0.0 is free by then.
            held = Fault("stall", method="POST", path=rf"^/v2/{unique_repo}/blobs/uploads/$")
            proxy.add(held)
            slow = subprocess.Popen(_build(first, f"{proxy.host}/{unique_repo}", builder), env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                assert held.reached.wait(180), "the first build never started its upload"
                fast = subprocess.run(_build(second, f"{open_registry.host}/{unique_repo}", builder),
                                      env=env, capture_output=True, text=True, timeout=300)
            finally:
                held.resume.set()
                out, err = slow.communicate(timeout=300)
        assert fast.returncode == 0, fast.stderr
        taken = json.loads(fast.stdout)["digest"]
        with client_for(open_registry.host) as client:
            assert client.head_manifest(unique_repo, "5.0.0") == taken  # what the run that passed says
        assert slow.returncode == 1, out + err
        assert "5.0.0 already holds" in err and "never reused" in err
    finally:
        for img in docker_client.images.list(name=f"{open_registry.host}/{unique_repo}"):
            for ref in img.tags:
                with contextlib.suppress(Exception):
                    docker_client.images.remove(ref, force=True)
