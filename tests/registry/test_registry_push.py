"""push_image against the real registries, checked by other tools: skopeo, umoci, docker."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from regkit import make_image, need

from hydro_ci.image.model import OCI_LAYER_GZIP, BytesBlob, Digest, Image, ImageConfig
from hydro_ci.image.mutate import Addendum, append_layers
from hydro_ci.image.remote import BlobProgress, push_image, read_image
from hydro_ci.reference import ImageReference
from hydro_ci.registry import RegistryClient

pytestmark = pytest.mark.registry

HELLO = b"hello from hydro-ci\n"


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted({str(Path(n).parent) for n in files} - {"."}):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _layer(files: dict[str, tuple[bytes, int]]) -> Addendum:
    raw = _tar(files)
    blob = BytesBlob.of(OCI_LAYER_GZIP, gzip.compress(raw, mtime=0))
    return Addendum(blob, Digest.of_bytes(raw))


def _runnable_image() -> Image:
    """busybox (from the Debian package) plus a model file: enough for `docker run`."""
    busybox = need("busybox")
    config = ImageConfig.empty().to_dict()
    config["config"] = {"Labels": {"io.hydro-ci.contract": '{"name":"m"}'}, "WorkingDir": "/model",
                        "Cmd": ["/bin/busybox", "cat", "/model/files/hello.txt"]}
    base = Image.assemble(ImageConfig(config), [])
    return append_layers(base, [
        _layer({"bin/busybox": (Path(busybox).read_bytes(), 0o755)}),
        _layer({"model/files/hello.txt": (HELLO, 0o644)}),
    ])


def test_skopeo_and_umoci_accept_the_pushed_image(auth_client: RegistryClient, registry: Any,
                                                  unique_repo: str, tmp_path: Path) -> None:
    need("skopeo")
    need("umoci")
    image = _runnable_image()
    result = push_image(auth_client, ImageReference(registry.host, unique_repo), image,
                        immutable_tags=["1.0.0"])
    src = f"docker://{registry.host}/{unique_repo}:1.0.0"
    creds = f"{registry.username}:{registry.password}"
    inspect = json.loads(subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--creds", creds, src],
        check=True, capture_output=True, text=True).stdout)
    assert inspect["Digest"] == result.digest
    assert inspect["Labels"] == {"io.hydro-ci.contract": '{"name":"m"}'}
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--src-creds", creds, src,
                    f"oci:{tmp_path / 'oci'}:copy"], check=True, capture_output=True)
    subprocess.run(["umoci", "unpack", "--rootless", "--image", f"{tmp_path / 'oci'}:copy",
                    str(tmp_path / "bundle")], check=True, capture_output=True)
    rootfs = tmp_path / "bundle" / "rootfs"
    assert (rootfs / "model" / "files" / "hello.txt").read_bytes() == HELLO
    assert (rootfs / "bin" / "busybox").stat().st_mode & 0o111


@pytest.mark.engine
def test_docker_pulls_and_runs_the_pushed_image(open_client: RegistryClient, open_registry: Any,
                                                unique_repo: str, docker_client: Any) -> None:
    image = _runnable_image()
    push_image(open_client, ImageReference(open_registry.host, unique_repo), image, immutable_tags=["1.0.0"])
    name = f"{open_registry.host}/{unique_repo}:1.0.0"
    subprocess.run(["docker", "pull", "-q", name], check=True, capture_output=True)
    try:
        out = subprocess.run(["docker", "run", "--rm", name], check=True, capture_output=True).stdout
        assert out == HELLO
    finally:
        subprocess.run(["docker", "rmi", "-f", name], capture_output=True)


def test_base_layers_are_mounted_not_uploaded(auth_client: RegistryClient, registry: Any,
                                              unique_repo: str) -> None:
    base_repo, app_repo = unique_repo + "/base", unique_repo + "/app"
    base = make_image({"base": "yes"}, payload=b"base layer " * 1000, n_layers=2)
    push_image(auth_client, ImageReference(registry.host, base_repo), base, moving_tags=["1"])
    remote_base = read_image(auth_client, ImageReference(registry.host, base_repo, "1"))
    app = append_layers(remote_base.image, [_layer({"model/files/hello.txt": (HELLO, 0o644)})])
    events: list[BlobProgress] = []
    result = push_image(auth_client, ImageReference(registry.host, app_repo), app, immutable_tags=["1.0.0"],
                        progress=events.append)
    states = {e.digest: e.state for e in events if e.state != "uploading"}
    for d in remote_base.layers:
        assert states[str(d.digest)] == "mounted"
    new = app.manifest.layers[-1]
    assert states[str(new.digest)] == "uploaded"
    assert result.bytes_uploaded == new.size + app.manifest.config.size
    assert result.bytes_skipped == sum(d.size for d in remote_base.layers)


def test_repush_uploads_nothing_and_says_so(auth_client: RegistryClient, registry: Any,
                                            unique_repo: str) -> None:
    ref = ImageReference(registry.host, unique_repo)
    image = make_image({"v": "1"}, n_layers=2)
    first = push_image(auth_client, ref, image, immutable_tags=["1.0.0"], moving_tags=["1.0", "latest"])
    assert not first.skipped and first.bytes_uploaded > 0 and first.tags_unchanged == ()
    again = push_image(auth_client, ref, image, immutable_tags=["1.0.0"], moving_tags=["1.0", "latest"])
    assert again.skipped and again.bytes_uploaded == 0 and again.bytes_skipped == first.bytes_uploaded
    assert again.tags_unchanged == ("1.0.0", "1.0", "latest")
    assert again.to_dict()["skipped"] is True


def test_moving_tags_move_and_version_tags_stay(auth_client: RegistryClient, registry: Any,
                                                unique_repo: str) -> None:
    ref = ImageReference(registry.host, unique_repo)
    one = push_image(auth_client, ref, make_image({"v": "1"}), immutable_tags=["1.0.0"],
                     moving_tags=["1.0", "latest"])
    two = push_image(auth_client, ref, make_image({"v": "2"}), immutable_tags=["1.0.1"],
                     moving_tags=["1.0", "latest"])
    assert one.digest != two.digest
    assert auth_client.head_manifest(unique_repo, "1.0.0") == one.digest
    for tag in ("1.0.1", "1.0", "latest"):
        assert auth_client.head_manifest(unique_repo, tag) == two.digest


def test_digest_checked_against_registry_bytes(auth_client: RegistryClient, unique_repo: str) -> None:
    image = make_image()
    for blob in image.blobs():
        d = blob.descriptor
        auth_client.upload_blob(unique_repo, str(d.digest), d.size, blob.open)
    digest = auth_client.put_manifest(unique_repo, "x", image.manifest_bytes, image.manifest_media_type)
    assert digest == "sha256:" + hashlib.sha256(image.manifest_bytes).hexdigest()




def test_mount_from_names_a_repository_with_or_without_registry(auth_client: RegistryClient, registry: Any,
                                                                 unique_repo: str) -> None:
    base = make_image({"base": "yes"})
    push_image(auth_client, ImageReference(registry.host, unique_repo + "/base"), base, moving_tags=["1"])
    for i, source in enumerate((f"{unique_repo}/base", f"{registry.host}/{unique_repo}/base")):
        events: list[BlobProgress] = []
        push_image(auth_client, ImageReference(registry.host, f"{unique_repo}/app{i}"), base,
                   moving_tags=["1"],
                   mount_from=[source], progress=events.append)
        assert {e.state for e in events} == {"mounted"}
