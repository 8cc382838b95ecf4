"""The pipeline decides as the verbs do: one keychain, one image setting, one tag policy.

Each test here reproduces a place where a pipeline stage and the verb for the same step disagreed.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from hydro_ci.image.mutate import configure, scratch, with_config
from hydro_ci.image.remote import push_image
from hydro_ci.reference import ImageReference
from hydro_ci.registry import client_for

from .conftest import hydro_ci, read_json

pytestmark = [pytest.mark.registry]


def _docker_login(tmp_path: Path, registry: Any) -> dict[str, str]:
    """What `docker login` (or docker/login-action) leaves behind: an auths entry in config.json."""
    config = tmp_path / "docker-config"
    config.mkdir()
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    return {"DOCKER_CONFIG": str(config)}


def _tags(registry: Any, repository: str) -> list[str]:
    auth = (registry.username, registry.password) if registry.username else None
    r = requests.get(f"{registry.url}/v2/{repository}/tags/list", auth=auth, timeout=10)
    return sorted(r.json().get("tags") or []) if r.status_code == 200 else []


def test_pipeline_push_uses_the_docker_login(iris: Path, workdir: Path, registry: Any, unique_repo: str,
                                             tmp_path: Path) -> None:
    """docker/login-action, then the pipeline without a password: versions are read from the
    registry (outside git) and the image pushed with the saved login, as `build --push` does."""
    env = _docker_login(tmp_path, registry)
    image = f"{registry.host}/{unique_repo}"
    proc = hydro_ci(["pipeline", str(iris), "--image", image, "--push"], workdir, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert read_json(workdir / ".hydro-ci/iris-sklearn/version.json")["source"] == "registry"
    assert "0.1.0" in _tags(registry, unique_repo)


def test_every_verb_takes_the_credentials_from_the_environment(iris: Path, workdir: Path, registry: Any,
                                                               unique_repo: str, tmp_path: Path) -> None:
    """HYDRO_CI_REGISTRY_USERNAME/PASSWORD (what the Action sets) reach `version next` and
    `build --push` as they reach the pipeline."""
    empty = tmp_path / "empty-docker-config"
    empty.mkdir()
    env = {"DOCKER_CONFIG": str(empty), "HYDRO_CI_REGISTRY_USERNAME": registry.username,
           "HYDRO_CI_REGISTRY_PASSWORD": registry.password}
    image = f"{registry.host}/{unique_repo}"
    hydro_ci(["build", str(iris), "--builder", "oci", "--image", image, "--version", "2.0.0", "--push",
              "--output", str(tmp_path / "ctx")], workdir, env=env)
    assert _tags(registry, unique_repo) == ["2.0.0"]
    proc = hydro_ci(["version", "next", str(iris), "--source", "registry", "--image", image], workdir,
                    env=env)
    assert proc.stdout.strip() == "2.0.1"


def test_pipeline_push_takes_the_image_from_serving_yaml(iris: Path, workdir: Path, open_registry: Any,
                                                         unique_repo: str) -> None:
    """`hydro-ci: image:` is the default of --image for the pipeline as for `version next`."""
    image = f"{open_registry.host}/{unique_repo}"
    serving = iris / "serving.yaml"
    serving.write_text(serving.read_text().replace("hydro-ci:\n", f"hydro-ci:\n  image: {image}\n"))
    proc = hydro_ci(["pipeline", str(iris), "--push"], workdir, check=False)
    assert proc.returncode == 0, proc.stderr
    assert read_json(workdir / ".hydro-ci/iris-sklearn/push.json")["digest"].startswith("sha256:")
    assert "0.1.0" in _tags(open_registry, unique_repo)
    answered = hydro_ci(["version", "next", str(iris), "--source", "registry"], workdir).stdout.strip()
    assert answered == "0.1.1"  # version next reads the same repository from the same setting


@pytest.mark.parametrize("builder", ["oci", "docker"])
def test_every_version_tag_is_immutable_not_just_the_first(iris: Path, workdir: Path, open_registry: Any,
                                                           unique_repo: str, builder: str,
                                                           request: pytest.FixtureRequest) -> None:
    """version.json marks each {version} pattern immutable; the push must treat each so, whatever
    its spelling (v0.1.0, model-0.1.0), and refuse before it moves one held by another image."""
    image = f"{open_registry.host}/{unique_repo}"
    serving = iris / "serving.yaml"
    serving.write_text(serving.read_text().replace("hydro-ci:\n", (
        "hydro-ci:\n  version:\n    tags: ['{version}', 'v{version}', 'model-{version}', latest]\n")))
    other = with_config(scratch(), configure(scratch().config, labels={"other": "image"}))
    with client_for(open_registry.host) as client:
        held = push_image(client, ImageReference(open_registry.host, unique_repo), other,
                          moving_tags=["v0.1.0", "model-0.1.0"]).digest
    args = ["pipeline", str(iris), "--image", image, "--push", "--builder", builder]
    if builder == "docker":
        args += ["--base-image", request.getfixturevalue("busybox_base")]
    proc = hydro_ci(args, workdir, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "v0.1.0 already holds" in proc.stderr and "never reused" in proc.stderr
    with client_for(open_registry.host) as client:
        for tag in ("v0.1.0", "model-0.1.0"):
            assert client.head_manifest(unique_repo, tag) == held  # neither was moved
        assert client.head_manifest(unique_repo, "0.1.0") is None  # refused before anything was tagged
