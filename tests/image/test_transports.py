"""Places an image lives, checked by real tools: skopeo, umoci and the Docker engine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.image import daemon, layout, mutate, tarball
from hydro_ci.image.layer import bytes_entry, write_layer
from hydro_ci.image.layout import LayoutError
from hydro_ci.image.model import Digest, History, Image

pytestmark = pytest.mark.engine


def _with_file(base: Image, spool: Path, name: str, data: bytes) -> Image:
    layer = write_layer([bytes_entry(name, data)], spool, epoch=0, compression="gzip")
    img = mutate.append_layers(base, [mutate.Addendum(layer, layer.diff_id, History(created_by="test"))])
    cfg = mutate.configure(img.config, labels={"test": "yes"}, working_dir="/model/files")
    return mutate.with_config(img, cfg)


def _run(*cmd: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_layout_written_by_skopeo_reads_with_its_digest(busybox_layout: Path) -> None:
    image = layout.read_layout(busybox_layout, "base")
    index = json.loads((busybox_layout / "index.json").read_text())
    assert str(image.manifest_digest) == index["manifests"][0]["digest"]
    assert len(image.layers) == 1 and image.config.diff_ids


def test_our_layout_is_accepted_by_skopeo_and_umoci(busybox_layout: Path, tmp_path: Path) -> None:
    image = _with_file(layout.read_layout(busybox_layout, "base"), tmp_path / "spool",
                       "model/files/hello.txt", b"hello\n")
    out = tmp_path / "oci"
    layout.write_layout(out, {"1.0.0": image, "latest": image})
    info = json.loads(_run("skopeo", "inspect", f"oci:{out}:1.0.0"))
    assert info["Digest"] == str(image.manifest_digest)
    assert info["Labels"] == {"test": "yes"}
    _run("umoci", "unpack", "--rootless", "--image", f"{out}:latest", str(tmp_path / "bundle"))
    rootfs = tmp_path / "bundle" / "rootfs"
    assert (rootfs / "model/files/hello.txt").read_bytes() == b"hello\n"
    assert (rootfs / "bin/busybox").is_file()
    assert layout.layout_tags(out) == ["1.0.0", "latest"]


def test_rewriting_a_tag_keeps_the_other_tags(busybox_layout: Path, tmp_path: Path) -> None:
    base = layout.read_layout(busybox_layout, "base")
    one = _with_file(base, tmp_path / "spool", "a", b"1")
    two = _with_file(base, tmp_path / "spool", "a", b"2")
    out = tmp_path / "oci"
    layout.write_layout(out, {"v1": one, "latest": one})
    layout.write_layout(out, {"latest": two})
    assert layout.read_layout(out, "v1").manifest_digest == one.manifest_digest
    assert layout.read_layout(out, "latest").manifest_digest == two.manifest_digest
    with pytest.raises(LayoutError, match=r"no image tagged 'v9'") as err:
        layout.read_layout(out, "v9")
    assert err.value.hint == "tags: latest, v1"


def test_layout_refuses_a_corrupt_blob(busybox_layout: Path, tmp_path: Path) -> None:
    image = _with_file(layout.read_layout(busybox_layout, "base"), tmp_path / "spool", "f", b"x")
    out = tmp_path / "oci"
    layout.write_layout(out, {"t": image})
    cfg = layout.blob_path(out, image.manifest.config.digest)
    cfg.chmod(0o644)
    cfg.write_bytes(b"{}")
    with pytest.raises(LayoutError, match="does not match its digest"):
        layout.read_layout(out, "t")


def test_engine_reads_and_loads(busybox_base: str, docker_client: Any, tmp_path: Path) -> None:
    base = daemon.read_daemon(busybox_base, tmp_path / "work", client=docker_client)
    engine_layers = docker_client.images.get(busybox_base).attrs["RootFS"]["Layers"]
    assert base.config.diff_ids == tuple(Digest.parse(d) for d in engine_layers)
    image = _with_file(base, tmp_path / "spool", "model/files/hello.txt", b"from the tarball\n")
    ref = "hydro-ci-test/image-tarball:1"
    archive = tmp_path / "image.tar"
    tarball.write_tarball(archive, {ref: image})
    _run("docker", "load", "-i", str(archive))
    try:
        out = _run("docker", "run", "--rm", ref, "cat", "hello.txt")  # WorkingDir is /model/files
        assert out == "from the tarball\n"
        # The engine's image ID is the config digest: it took our config byte for byte.
        assert docker_client.images.get(ref).id == str(image.manifest.config.digest)
        again = tarball.read_tarball(archive, ref)
        assert again.manifest_digest == image.manifest_digest
        ids = daemon.write_daemon({"hydro-ci-test/image-tarball:2": image}, tmp_path / "w2",
                                  client=docker_client)
        assert ids == [str(image.manifest.config.digest)]
    finally:
        for tag in (ref, "hydro-ci-test/image-tarball:2"):
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def test_tarball_is_deterministic(busybox_layout: Path, tmp_path: Path) -> None:
    image = _with_file(layout.read_layout(busybox_layout, "base"), tmp_path / "spool", "f", b"x")
    tarball.write_tarball(tmp_path / "a.tar", {"x/y:1": image, "x/y:latest": image})
    tarball.write_tarball(tmp_path / "b.tar", {"x/y:latest": image, "x/y:1": image})
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    # The same file is also an OCI archive (index.json beside manifest.json).
    info = json.loads(_run("skopeo", "inspect", f"oci-archive:{tmp_path}/a.tar:x/y:1"))
    assert info["Digest"] == str(image.manifest_digest)


def _blobs(root: Path) -> set[str]:
    return {f"sha256:{p.name}" for p in (root / "blobs/sha256").iterdir()}


def _closure(image: Image) -> set[str]:
    return {str(image.manifest_digest), str(image.manifest.config.digest),
            *(str(d.digest) for d in image.manifest.layers)}


def test_a_version_tag_is_never_moved_in_a_layout(busybox_layout: Path, tmp_path: Path) -> None:
    base = layout.read_layout(busybox_layout, "base")
    one = _with_file(base, tmp_path / "spool", "a", b"1")
    two = _with_file(base, tmp_path / "spool", "a", b"2")
    out = tmp_path / "oci"
    layout.write_layout(out, {"1.0.0": one, "latest": one}, immutable_tags=["1.0.0"])
    before = (out / "index.json").read_bytes()
    with pytest.raises(layout.LayoutTagExistsError) as err:
        layout.write_layout(out, {"1.0.0": two, "latest": two}, immutable_tags=["1.0.0"])
    assert str(err.value) == (f"{out}:1.0.0 already holds {one.manifest_digest}, not {two.manifest_digest}; "
                              "version tags are never reused")
    assert err.value.exit_code == 1 and err.value.hint
    # Refused before a byte was written: not even latest moved, none of two's blobs arrived.
    assert (out / "index.json").read_bytes() == before
    assert _blobs(out) == _closure(one)
    # The same image again is a no-op (index.json is not even rewritten).
    stat = (out / "index.json").stat()
    layout.write_layout(out, {"1.0.0": one, "latest": one}, immutable_tags=["1.0.0"])
    assert (out / "index.json").stat().st_mtime_ns == stat.st_mtime_ns and stat.st_ino == (
        out / "index.json").stat().st_ino
    # Only the tags the writer names are fixed: another may move (the pipeline rewrites its dist/).
    layout.write_layout(out, {"1.0.0": two})
    assert layout.read_layout(out, "1.0.0").manifest_digest == two.manifest_digest


def test_moving_a_tag_removes_the_blobs_nothing_references(busybox_layout: Path, tmp_path: Path) -> None:
    base = layout.read_layout(busybox_layout, "base")
    images = [_with_file(base, tmp_path / "spool", "a", bytes([i])) for i in range(4)]
    out = tmp_path / "oci"
    layout.write_layout(out, {"v1": images[0], "latest": images[0]})
    for image in images[1:]:
        layout.write_layout(out, {"latest": image})
    # v1 keeps images[0]; images[1] and [2] were only ever latest: their own blobs are gone.
    assert _blobs(out) == _closure(images[0]) | _closure(images[3])
    assert layout.layout_tags(out) == ["latest", "v1"]
    for tag, image in (("v1", images[0]), ("latest", images[3])):
        info = json.loads(_run("skopeo", "inspect", f"oci:{out}:{tag}"))
        assert info["Digest"] == str(image.manifest_digest)


def test_nothing_is_removed_when_an_entry_cannot_be_read(busybox_layout: Path, tmp_path: Path) -> None:
    base = layout.read_layout(busybox_layout, "base")
    one = _with_file(base, tmp_path / "spool", "a", b"1")
    two = _with_file(base, tmp_path / "spool", "a", b"2")
    out = tmp_path / "oci"
    layout.write_layout(out, {"latest": one})
    # Another tool's entry, of a kind we do not know: what it references cannot be proved.
    foreign = b'{"mediaType": "application/vnd.example.bundle+json", "parts": []}'
    digest = Digest.of_bytes(foreign)
    layout.blob_path(out, digest).write_bytes(foreign)
    index = json.loads((out / "index.json").read_text())
    index["manifests"].append({"mediaType": "application/vnd.example.bundle+json", "digest": str(digest),
                               "size": len(foreign)})
    (out / "index.json").write_text(json.dumps(index))
    layout.write_layout(out, {"latest": two})
    assert _closure(one) <= _blobs(out)  # kept: maybe the foreign entry needs them
    assert layout.read_layout(out, "latest").manifest_digest == two.manifest_digest
