"""The real services the tests use: a Docker engine and two registries (htpasswd, anonymous).

Registries: HYDRO_CI_TEST_REGISTRY (htpasswd; HYDRO_CI_TEST_REGISTRY_USER / _PASSWORD) and
HYDRO_CI_TEST_OPEN_REGISTRY (anonymous) name running ones; unset, the test run starts its own with
Debian's `docker-registry` (if installed) on free loopback ports, with empty storage, and stops
them at the end. The engine: DOCKER_HOST, else /var/run/docker.sock. `bash .ci/services.sh`
installs both and starts the engine.

Outside CI a missing service skips the tests that need it (one line at the end says how many and
how to enable them); in CI (CI=true) it fails them, so a broken service start can never turn into
a silently green run.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

BUSYBOX_BASE = "hydro-ci-test/busybox:1"
PRIVATE_USER = "hydro"
PRIVATE_PASSWORD = "hydro-test-secret-" + uuid.uuid4().hex[:8]

# What each missing service's skips say, and how to enable those tests (summed up at the end).
NEEDS = {
    "engine": "a Docker engine (start one: bash .ci/services.sh, or set DOCKER_HOST)",
    "registry": "a registry (install Debian's docker-registry: bash .ci/services.sh, "
                "or set HYDRO_CI_TEST_REGISTRY / HYDRO_CI_TEST_OPEN_REGISTRY)",
    "tool": "a tool from Debian (bash .ci/services.sh installs them all)",
}


@dataclass(frozen=True)
class TestRegistry:
    host: str  # host:port, plain HTTP on loopback
    username: str | None
    password: str | None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def _unavailable(what: str, need: str = "tool") -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not running; .ci/services.sh must start it before the tests")
    pytest.skip(f"[needs {need}] {what} is not available")


def _reachable(host: str) -> bool:
    try:
        requests.get(f"http://{host}/v2/", timeout=2)
    except requests.RequestException:
        return False
    return True


def _registry(host: str, username: str | None, password: str | None) -> TestRegistry:
    if not _reachable(host):
        _unavailable(f"test registry {host}", "registry")
    return TestRegistry(host, username, password)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _htpasswd_line(user: str, password: str) -> str | None:
    """A bcrypt htpasswd line (the only hash docker-registry takes): bcrypt, else apache's tool."""
    try:
        import bcrypt
    except ImportError:
        tool = shutil.which("htpasswd")
        if tool is None:
            return None
        out = subprocess.run([tool, "-Bbn", user, password], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}"


class PrivateRegistries:
    """Registries of this test run: started on first use, stopped when the run ends."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started: dict[str, TestRegistry] = {}

    def get(self, name: str, auth: bool) -> TestRegistry:
        if name not in self.started:
            self.started[name] = self._start(name, auth)
        return self.started[name]

    def _start(self, name: str, auth: bool) -> TestRegistry:
        binary = shutil.which("docker-registry")
        if binary is None:
            _unavailable("docker-registry", "registry")
        assert binary is not None
        folder = self.root / name
        (folder / "data").mkdir(parents=True)
        host = f"127.0.0.1:{_free_port()}"
        config = [
            "version: 0.1", "log: {level: error}",
            f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}, delete: {{enabled: true}}}}",
            f"http: {{addr: {host}}}",
        ]
        if auth:
            line = _htpasswd_line(PRIVATE_USER, PRIVATE_PASSWORD)
            if line is None:
                _unavailable("bcrypt (pip) or htpasswd (apache2-utils) for the registry's password file")
            (folder / "htpasswd").write_text(f"{line}\n")
            config.append(f"auth: {{htpasswd: {{realm: hydro-ci-test, path: {folder / 'htpasswd'}}}}}")
        (folder / "config.yml").write_text("\n".join(config) + "\n")
        log = (folder / "log").open("wb")
        proc = subprocess.Popen([binary, "serve", str(folder / "config.yml")], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while not _reachable(host):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "log").read_text(errors="replace")[-2000:]
                pytest.fail(f"docker-registry did not start on {host}:\n{tail}")
            time.sleep(0.1)
        if auth:
            return TestRegistry(host, PRIVATE_USER, PRIVATE_PASSWORD)
        return TestRegistry(host, None, None)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def private_registries() -> Iterator[PrivateRegistries]:
    with tempfile.TemporaryDirectory(prefix="hydro-ci-registries-") as root:
        registries = PrivateRegistries(Path(root))
        try:
            yield registries
        finally:
            registries.stop()


@pytest.fixture(scope="session")
def registry(private_registries: PrivateRegistries) -> TestRegistry:
    """The registry with htpasswd auth."""
    host = os.environ.get("HYDRO_CI_TEST_REGISTRY")
    if host:
        return _registry(host, os.environ.get("HYDRO_CI_TEST_REGISTRY_USER", "hydro"),
                         os.environ.get("HYDRO_CI_TEST_REGISTRY_PASSWORD", "hydro-test-secret-8c1f"))
    return private_registries.get("auth", auth=True)


@pytest.fixture(scope="session")
def open_registry(private_registries: PrivateRegistries) -> TestRegistry:
    """The anonymous registry."""
    host = os.environ.get("HYDRO_CI_TEST_OPEN_REGISTRY")
    if host:
        return _registry(host, None, None)
    return private_registries.get("open", auth=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per missing service: how many tests it skipped and how to enable them."""
    counts: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        for need in NEEDS:
            if f"[needs {need}]" in reason:
                counts[need] += 1
    for need, count in counts.items():
        terminalreporter.write_line(f"hydro-ci: {count} test{'s' * (count != 1)} skipped: "
                                    f"they need {NEEDS[need]}", yellow=True)


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
        _unavailable("the Docker engine", "engine")
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
