"""Fixtures for the real services `.ci/services.sh` starts: a Docker engine and two registries.

Outside CI a missing service skips the tests that need it; in CI (CI=true) it fails them,
so a broken service start can never turn into a silently green run.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

BUSYBOX_BASE = "hydro-ci-test/busybox:1"


@dataclass(frozen=True)
class TestRegistry:
    host: str  # host:port, plain HTTP on loopback
    username: str | None
    password: str | None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def _unavailable(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not running; .ci/services.sh must start it before the tests")
    pytest.skip(f"{what} not running (start it with: bash .ci/services.sh)")


def _registry(host: str, username: str | None, password: str | None) -> TestRegistry:
    try:
        requests.get(f"http://{host}/v2/", timeout=2)
    except requests.RequestException:
        _unavailable(f"test registry {host}")
    return TestRegistry(host, username, password)


@pytest.fixture(scope="session")
def registry() -> TestRegistry:
    """The registry with htpasswd auth."""
    return _registry(
        os.environ.get("HYDRO_CI_TEST_REGISTRY", "127.0.0.1:5000"),
        os.environ.get("HYDRO_CI_TEST_REGISTRY_USER", "hydro"),
        os.environ.get("HYDRO_CI_TEST_REGISTRY_PASSWORD", "hydro-test-secret-8c1f"),
    )


@pytest.fixture(scope="session")
def open_registry() -> TestRegistry:
    """The anonymous registry."""
    return _registry(os.environ.get("HYDRO_CI_TEST_OPEN_REGISTRY", "127.0.0.1:5001"), None, None)


@pytest.fixture
def unique_repo() -> str:
    """A repository name no other test uses."""
    return f"test/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception:  # noqa: BLE001 - any failure means: no engine here
        _unavailable("Docker engine")
    yield client
    client.close()


def busybox_rootfs_tar() -> bytes:
    """A tiny root filesystem from Debian's busybox-static, as deterministic tar bytes."""
    busybox = shutil.which("busybox")
    if busybox is None:
        _unavailable("busybox (Debian package busybox-static)")
    assert busybox is not None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)

        for d in ("bin", "tmp", "etc"):
            add_dir(d)
        data = Path(busybox).read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        tar.addfile(info, io.BytesIO(data))
        for applet in ("sh", "ls", "cat", "echo", "mkdir", "cp", "test", "find", "sha256sum", "wc"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, "busybox", 0o777, 0
            tar.addfile(link)
    return buf.getvalue()


@pytest.fixture(scope="session")
def busybox_base(docker_client: Any) -> str:
    """A base image in the engine (`docker import` of busybox; nothing can be pulled here)."""
    subprocess.run(
        ["docker", "import", "-", BUSYBOX_BASE], input=busybox_rootfs_tar(), check=True,
        capture_output=True,
    )
    return BUSYBOX_BASE


@pytest.fixture(scope="session")
def busybox_layout(busybox_base: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same base as an OCI image layout directory (tag `base`), written by skopeo."""
    layout = tmp_path_factory.mktemp("busybox-layout") / "oci"
    subprocess.run(
        ["skopeo", "copy", "-q", f"docker-daemon:{busybox_base}", f"oci:{layout}:base"],
        check=True, capture_output=True,
    )
    return layout
