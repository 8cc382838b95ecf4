"""`hydro-ci pipeline --builder docker --push`: what the summary says of an engine push.

The engine's image goes to the registry through the same publisher as the daemonless one's, so the
report is the same: the digest the registry holds and the bytes sent."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.engine, pytest.mark.registry]


def test_an_engine_push_is_reported_as_any_push(busybox_base: str, open_registry: Any,
                                                        unique_repo: str, tmp_path: Path,
                                                        docker_client: Any) -> None:
    model = tmp_path / "iris-sklearn"
    shutil.copytree(REPO / "examples/iris-sklearn", model, ignore=shutil.ignore_patterns(".hydro-ci"))
    image = f"{open_registry.host}/{unique_repo}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HYDRO_CI_REGISTRY"))}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "hydro_ci", "pipeline", str(model), "--builder", "docker", "--push",
             "--image", image, "--base-image", busybox_base, "--output", str(tmp_path / "out")],
            cwd=tmp_path, capture_output=True, text=True, env={**env, "SOURCE_DATE_EPOCH": "1700000000"})
        assert proc.returncode == 0, proc.stderr
        pushed = json.loads((tmp_path / "out/push.json").read_text())
        assert pushed["bytes_uploaded"] > 0 and pushed["digest"].startswith("sha256:")
        head = requests.head(f"{open_registry.url}/v2/{unique_repo}/manifests/0.1.0", timeout=10,
                             headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        assert head.headers["Docker-Content-Digest"] == pushed["digest"]  # what the registry holds
        line = next(x for x in proc.stdout.splitlines() if x.strip().startswith("pushed"))
        assert line.split() == ["pushed", str(pushed["bytes_uploaded"]), "bytes", "uploaded,",
                                str(pushed["bytes_skipped"]), "skipped"]
        md = (tmp_path / "out/summary.md").read_text()
        push_section = md.split("### Push", 1)[1].split("###", 1)[0]
        assert f"| pushed | `{pushed['digest']}` |" in push_section and "| uploaded |" in push_section
        assert "None" not in proc.stdout + push_section and "?" not in push_section
        # the local tags follow the registry's
        assert f"{image}:0.1.0" in docker_client.images.get(f"{image}:latest").tags
    finally:
        import docker.errors

        for img in docker_client.images.list(name=image):
            for ref in img.tags:
                with contextlib.suppress(docker.errors.ImageNotFound):
                    docker_client.images.remove(ref, force=True)
