"""Building on the real Docker engine and pushing to the real registry (htpasswd auth)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from wheelkit import WHEEL_MAGIC, write_wheel

from hydro_ci.build import BuildRequest, Built, make_builder
from hydro_ci.contract.jsonform import contract_to_dict
from hydro_ci.contract.proto import from_protobin
from hydro_ci.errors import (
    AuthError,
    BaseImageMissingError,
    EngineUnavailableError,
    InstallCommandError,
    TagExistsError,
)
from hydro_ci.progress import ProgressEvent
from hydro_ci.publish import EnginePublisher, PublishResult, RegistryPublisher
from hydro_ci.registry import Credentials, Keychain
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.render.labels import CONTRACT_LABEL
from hydro_ci.version.tags import TagSet

from .conftest import CONTRACT, MakeFolder

pytestmark = [pytest.mark.engine]

PROBE = r"""
import base64, json, os, hydrotiny
files = sorted(os.path.relpath(os.path.join(d, f), "/model/files")
               for d, _, fs in os.walk("/model/files") for f in fs)
print(json.dumps({"protobin": base64.b64encode(open("/model/contract.protobin", "rb").read()).decode(),
                  "files": files, "cwd": os.getcwd(), "magic": hydrotiny.MAGIC}))
"""


def build(folder: Any, image: str, version: str, tags: tuple[str, ...] = (), base: str | None = None,
          events: list[ProgressEvent] | None = None, *, tag: bool = True) -> Built:
    """What `hydro-ci build --builder docker` does: build, then tag in the engine (unless a push follows)."""
    ctx = render_folder(folder, RenderOptions(output=folder.root.parent / f"ctx-{folder.name}",
                                              version=version, base_image=base, epoch=1700000000))
    sink = events.append if events is not None else (lambda e: None)
    built = make_builder("docker").build(BuildRequest(ctx, image, version), sink)
    if tag:
        EnginePublisher(image, folder.root.parent / "work").publish(built.image, TagSet.given(version, tags))
    return built


def push(built: Built, *tags: str, credentials: Credentials | None = None) -> PublishResult:
    """What `--push` adds: the registry publisher, whichever builder made the image."""
    tag_set = TagSet.given(built.result.version, tags)
    return RegistryPublisher(built.result.image, keychain=Keychain(credentials)).publish(built.image, tag_set)


@pytest.mark.registry
@pytest.mark.slow
def test_python_model_end_to_end(python_base: str, make_folder: MakeFolder, registry: Any,
                                  unique_repo: str, docker_client: Any, tmp_path: Path) -> None:
    folder = make_folder(
        files={"src/func_main.py": "def infer(**kw):\n    return kw\n",
               "requirements.txt": "hydrotiny==1.0\n",
               "weights/model.bin": bytes(range(256)) * 64},
        runtime=python_base, payload=("src", "requirements.txt", "weights", "wheels"),
        install_command="pip install --no-index --find-links wheels -r requirements.txt",
        metadata={"team": "ml", "quote": 'say "hi" $HOME \\'},
    )
    write_wheel(folder.root / "wheels")
    image = f"{registry.host}/{unique_repo}"
    events: list[ProgressEvent] = []
    built = build(folder, image, "1.0.0", ("latest",), events=events)
    result = built.result
    assert result.id.startswith("sha256:")
    assert {f"{image}:1.0.0", f"{image}:latest"} <= set(docker_client.images.get(result.id).tags)
    steps = [e.message for e in events if e.message.startswith("Step ")]
    assert steps[0].startswith("Step 1/8 : FROM ") and steps[-1].startswith("Step 8/8 : LABEL ")
    # --find-links is not understood as reading only dependency files: the install runs after every COPY
    keywords = [x.split(" : ")[1].split()[0] for x in steps]
    assert keywords == ["FROM", "COPY", "COPY", "COPY", "COPY", "WORKDIR", "RUN", "LABEL"]

    # Inside the container: the contract parses back, the payload is there, the install took effect.
    out = subprocess.run(["docker", "run", "--rm", f"{image}:1.0.0", "python3", "-c", PROBE],
                         capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert from_protobin(base64.b64decode(seen["protobin"])) == CONTRACT.primary
    assert seen["files"] == ["requirements.txt", "src/func_main.py",
                             "weights/model.bin", "wheels/hydrotiny-1.0-py3-none-any.whl"]
    assert seen["cwd"] == "/model/files" and seen["magic"] == WHEEL_MAGIC

    labels = docker_client.api.inspect_image(result.id)["Config"]["Labels"]
    assert labels["MODEL_NAME"] == "titanic" and labels["MODEL_VERSION"] == "1.0.0"
    assert labels["quote"] == 'say "hi" $HOME \\'  # quoted, not expanded, not cut
    assert json.loads(labels[CONTRACT_LABEL]) == contract_to_dict(CONTRACT)
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"

    creds = Credentials(registry.username, registry.password)
    pushed = push(built, "latest", credentials=creds)
    assert pushed.digest and pushed.digest.startswith("sha256:") and not pushed.unchanged
    tags = requests.get(f"{registry.url}/v2/{unique_repo}/tags/list",
                        auth=(registry.username, registry.password), timeout=10).json()["tags"]
    assert sorted(tags) == ["1.0.0", "latest"]
    # Pushing the same image again is a no-op for the version tag.
    again = push(built, "latest", credentials=creds)
    assert again.unchanged and again.digest == pushed.digest


@pytest.mark.slow
def test_a_code_change_reuses_the_install_and_weights_layers(python_base: str, make_folder: MakeFolder,
                                                             docker_client: Any) -> None:
    folder = make_folder(
        files={"src/func_main.py": "def infer(**kw):\n    return kw\n",
               "requirements.txt": "./wheels/hydrotiny-1.0-py3-none-any.whl  # a local wheel\n",
               "weights/model.bin": os.urandom(2 << 20)},
        runtime=python_base, install_command="pip install -r requirements.txt",
    )
    write_wheel(folder.root / "wheels")
    image = "hydro-ci-test/layered"
    first = build(folder, image, "1.0.0").result
    (folder.root / "src/func_main.py").write_text("def infer(**kw):\n    return {'changed': kw}\n")
    events: list[ProgressEvent] = []
    second = build(folder, image, "1.0.1", events=events).result
    try:
        layers = [docker_client.api.inspect_image(i)["RootFS"]["Layers"] for i in (first.id, second.id)]
        base = len(docker_client.api.inspect_image(python_base)["RootFS"]["Layers"])
        # base, deps COPY, RUN pip install, weights COPY: the same layers; code and contract after them
        assert layers[0][: base + 3] == layers[1][: base + 3]
        assert layers[0][base + 3] != layers[1][base + 3]
        out = subprocess.run(["docker", "run", "--rm", f"{image}:1.0.1", "python3", "-c",
                              "import hydrotiny; print(hydrotiny.MAGIC)"],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == WHEEL_MAGIC
    finally:
        for tag in ("1.0.0", "1.0.1"):
            docker_client.images.remove(f"{image}:{tag}", force=True)


def test_failing_install_command(busybox_base: str, make_folder: MakeFolder) -> None:
    folder = make_folder(runtime=busybox_base,
                         install_command="echo preparing; echo 'E: no such package hydrotiny' >&2; exit 7")
    with pytest.raises(InstallCommandError) as err:
        build(folder, "hydro-ci-test/failing", "1.0.0")
    assert err.value.command_exit_code == 7
    assert "exit code 7" in str(err.value) and "no such package hydrotiny" in str(err.value)
    assert "\n" not in str(err.value) and err.value.hint
    assert "Running in" not in str(err.value)  # the command's output, not the engine's chatter


def test_missing_base_image(make_folder: MakeFolder, open_registry: Any, docker_client: Any) -> None:
    base = f"{open_registry.host}/hydro-ci-test/no-such-runtime:9.9"
    with pytest.raises(BaseImageMissingError) as err:
        build(make_folder(runtime=base), "hydro-ci-test/nobase", "1.0.0")
    assert base in str(err.value) and "--base-image" in (err.value.hint or "")


def test_engine_unreachable(make_folder: MakeFolder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # discard port: nothing listens
    folder = make_folder(runtime="busybox:1")
    with pytest.raises(EngineUnavailableError) as err:
        build(folder, "hydro-ci-test/unreachable", "1.0.0")
    assert "tcp://127.0.0.1:9" in str(err.value) and "DOCKER_HOST" in (err.value.hint or "")


@pytest.mark.registry
def test_wrong_password_is_refused(busybox_base: str, make_folder: MakeFolder, registry: Any,
                                   unique_repo: str) -> None:
    built = build(make_folder(runtime=busybox_base), f"{registry.host}/{unique_repo}", "1.0.0")
    secret = "definitely-wrong-password-77"
    with pytest.raises(AuthError) as err:
        push(built, credentials=Credentials(registry.username, secret))
    assert secret not in str(err.value) and secret not in (err.value.hint or "")


@pytest.mark.registry
def test_existing_version_tag_with_other_content(busybox_base: str, make_folder: MakeFolder, registry: Any,
                                                 unique_repo: str) -> None:
    image = f"{registry.host}/{unique_repo}"
    creds = Credentials(registry.username, registry.password)
    first = build(make_folder("a", runtime=busybox_base), image, "1.0.0", tag=False)
    push(first, credentials=creds)
    other = build(make_folder("a", files={"src/func_main.py": "changed = True\n"}, runtime=busybox_base),
                  image, "1.0.0", tag=False)
    assert other.result.id != first.result.id
    with pytest.raises(TagExistsError, match="never reused"):
        push(other, credentials=creds)
    manifest = requests.get(f"{registry.url}/v2/{unique_repo}/manifests/1.0.0",
                            auth=(registry.username, registry.password), timeout=10,
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert manifest.json()["config"]["digest"] == first.result.id  # the released tag was not touched


@pytest.mark.registry
def test_a_release_looking_extra_tag_is_not_overwritten(busybox_base: str, make_folder: MakeFolder,
                                                        registry: Any, unique_repo: str) -> None:
    image = f"{registry.host}/{unique_repo}"
    creds = Credentials(registry.username, registry.password)
    first = build(make_folder("a", runtime=busybox_base), image, "1.0.0", tag=False)
    push(first, credentials=creds)
    # 1.0.1 is new, but "-t 1.0.0" would move the released 1.0.0 to other content.
    other = build(make_folder("a", files={"src/func_main.py": "changed = True\n"}, runtime=busybox_base),
                  image, "1.0.1", tag=False)
    with pytest.raises(TagExistsError, match=r":1\.0\.0 already holds"):
        push(other, "1.0.0", credentials=creds)
    manifest = requests.get(f"{registry.url}/v2/{unique_repo}/manifests/1.0.0",
                            auth=(registry.username, registry.password), timeout=10,
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert manifest.json()["config"]["digest"] == first.result.id


@pytest.mark.registry
def test_push_with_docker_config_credentials(busybox_base: str, make_folder: MakeFolder, registry: Any,
                                             unique_repo: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    (tmp_path / "docker-config").mkdir()
    config = {"auths": {registry.host: {"auth": token}}}
    (tmp_path / "docker-config/config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    built = build(make_folder(runtime=busybox_base), f"{registry.host}/{unique_repo}", "3.0.0", tag=False)
    pushed = push(built, "latest")  # no explicit credentials: the docker config's
    assert pushed.digest and pushed.digest.startswith("sha256:")
    tags = requests.get(f"{registry.url}/v2/{unique_repo}/tags/list",
                        auth=(registry.username, registry.password), timeout=10).json()["tags"]
    assert sorted(tags) == ["3.0.0", "latest"]
