"""`hydro-ci pipeline --builder docker --push`: what the summary says of an engine push."""

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

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.engine, pytest.mark.registry]


def test_an_engine_push_is_reported_without_byte_counts(busybox_base: str, open_registry: Any,
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
        assert pushed["bytes_uploaded"] is None and pushed["digest"].startswith("sha256:")
        # The engine does not count bytes: say what is known, never "None bytes" or "?".
        line = next(x for x in proc.stdout.splitlines() if x.strip().startswith("pushed"))
        assert line.split() == ["pushed", "digest", pushed["digest"]]
        md = (tmp_path / "out/summary.md").read_text()
        push_section = md.split("### Push", 1)[1].split("###", 1)[0]
        assert f"| pushed | `{pushed['digest']}` |" in push_section
        assert "None" not in proc.stdout + push_section and "?" not in push_section
        assert "uploaded" not in push_section
    finally:
        import docker.errors

        for img in docker_client.images.list(name=image):
            for ref in img.tags:
                with contextlib.suppress(docker.errors.ImageNotFound):
                    docker_client.images.remove(ref, force=True)
