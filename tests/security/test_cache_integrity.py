"""A damaged layer cache or OCI layout is never shipped: cache hits are checked by digest, and
layouts hold copies, not hard links into the cache.

A flipped byte in a cached blob (its size and mtime kept, so only its content says so), or in a blob
of a layout written earlier, used to go out in the next build; the push then failed with a bare
DIGEST_INVALID. Now the next build rebuilds the damaged layer, its layout holds exactly the bytes its
digests name, and a push of a damaged layout says which local copy to rebuild.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.build import BuildRequest
from hydro_ci.build.oci import OCIBuilder
from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Signature
from hydro_ci.errors import RegistryError
from hydro_ci.image import layout
from hydro_ci.image.model import OCI_LAYER_GZIP
from hydro_ci.image.reference import ImageReference
from hydro_ci.image.remote import push_image
from hydro_ci.registry import RegistryClient
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.render.context import BuildContext

CONTRACT = Contract("demo", (Signature("infer", (Field("x", DType.float32, (-1, 3)),), ()),))


@pytest.fixture
def context(tmp_path: Path) -> BuildContext:
    root = tmp_path / "model"
    (root / "src").mkdir(parents=True)
    (root / "src/func_main.py").write_text("def infer(x):\n    return {}\n")
    (root / "weights.bin").write_bytes(bytes(range(256)) * 8192)  # 2 MiB, compressible: a gzip layer
    folder = ModelFolder(root=root, name="demo", runtime="scratch", contract=CONTRACT)
    return render_folder(folder, RenderOptions(output=tmp_path / "ctx", version="1.0.0", epoch=1_700_000_000))


def _build(context: BuildContext, cache: Path, out: Path) -> Any:
    builder = OCIBuilder(cache=cache, base_from="scratch", output_layout=out)
    result = builder.build(BuildRequest(context, "demo", "1.0.0"))
    return builder, result


def _flip(path: Path) -> None:
    """One byte changed in place; size and times as they were (only the content tells)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    with open(path, "r+b") as f:  # in place: the same inode, as an editor saving over it
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _layout_is_sound(root: Path) -> None:
    blobs = list((root / "blobs" / "sha256").iterdir())
    assert blobs
    for blob in blobs:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, f"{blob} is damaged"


def _gzip_blobs(root: Path, tag: str = "1.0.0") -> list[Path]:
    image = layout.read_layout(root, tag)
    return [layout.blob_path(root, b.descriptor.digest) for b in image.layers
            if b.descriptor.media_type == OCI_LAYER_GZIP]


def test_a_damaged_cached_blob_is_rebuilt_not_shipped(context: BuildContext, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _, first = _build(context, cache, tmp_path / "a.oci")
    cached = sorted((cache / "blobs" / "sha256").iterdir())
    assert cached
    for blob in cached:
        _flip(blob)
    _, second = _build(context, cache, tmp_path / "b.oci")
    assert second.digest == first.digest  # the same image, its layers made again
    _layout_is_sound(tmp_path / "b.oci")
    for blob in (cache / "blobs" / "sha256").iterdir():  # and the cache holds good blobs again
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


def test_a_layout_is_no_window_into_the_cache(context: BuildContext, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _build(context, cache, tmp_path / "a.oci")
    damaged = _gzip_blobs(tmp_path / "a.oci")
    assert damaged
    for blob in damaged:
        assert blob.stat().st_nlink == 1  # a copy, not a hard link to the cache
        _flip(blob)
    _build(context, cache, tmp_path / "b.oci")
    _layout_is_sound(tmp_path / "b.oci")
    # Writing the same image into the damaged layout again repairs it (a blob of the right size is
    # not taken on trust).
    _build(context, cache, tmp_path / "a.oci")
    _layout_is_sound(tmp_path / "a.oci")


@pytest.mark.registry
def test_pushing_a_damaged_layout_says_what_to_rebuild(context: BuildContext, tmp_path: Path,
                                                       open_registry: Any, unique_repo: str) -> None:
    _build(context, tmp_path / "cache", tmp_path / "a.oci")
    for blob in _gzip_blobs(tmp_path / "a.oci"):
        _flip(blob)
    image = layout.read_layout(tmp_path / "a.oci", "1.0.0")
    with RegistryClient(open_registry.host, insecure=True) as client, pytest.raises(RegistryError) as err:
        push_image(client, ImageReference(open_registry.host, unique_repo), image, immutable_tags=["1.0.0"])
    assert "DIGEST_INVALID" in str(err.value)
    assert err.value.hint and "changed since" in err.value.hint and "a.oci" in str(err.value)
