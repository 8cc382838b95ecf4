"""Deterministic layers: same entries → same bytes whatever the host says about the files."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from hydro_ci.image.layer import (
    LayerError,
    bytes_entry,
    choose_compression,
    normalize_name,
    tree_entries,
    with_parents,
    write_layer,
)
from hydro_ci.image.model import OCI_LAYER, OCI_LAYER_GZIP, Digest


def _tree(root: Path, mode: int, mtime: int) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "src" / "run.sh").write_text("#!/bin/sh\n")
    (root / "a-b.txt").write_text("dash sorts after the directory a/\n")
    (root / "a").mkdir()
    (root / "a" / "z").write_text("z")
    (root / "src" / "link").symlink_to("run.sh")
    os.chmod(root / "src" / "run.sh", 0o700)
    os.chmod(root / "src" / "pkg" / "mod.py", mode)
    for p in root.rglob("*"):
        os.utime(p, (mtime, mtime), follow_symlinks=False)
    return root


def _members(blob: bytes) -> list[tarfile.TarInfo]:
    import io

    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
        return tar.getmembers()


def test_same_files_elsewhere_with_other_modes_and_times_give_the_same_layer(tmp_path: Path) -> None:
    one = _tree(tmp_path / "one", 0o600, 1_000_000)
    two = _tree(tmp_path / "two", 0o664, 2_000_000)
    a = write_layer(tree_entries(one, "model/files"), tmp_path / "spool", epoch=42, compression="gzip")
    b = write_layer(tree_entries(two, "model/files"), tmp_path / "spool2", epoch=42, compression="gzip")
    assert (a.descriptor, a.diff_id) == (b.descriptor, b.diff_id)
    c = write_layer(tree_entries(two, "model/files"), tmp_path / "spool3", epoch=43, compression="gzip")
    assert c.diff_id != a.diff_id  # the epoch is the only clock that counts


def test_tar_entries_are_sorted_with_parents_and_normalized(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t", 0o600, 5)
    layer = write_layer(tree_entries(root, "model/files"), tmp_path / "spool", epoch=7, compression="gzip")
    assert layer.path is not None
    members = _members(layer.path.read_bytes())
    names = [m.name for m in members]
    assert names == ["model", "model/files", "model/files/a", "model/files/a/z", "model/files/a-b.txt",
                     "model/files/src", "model/files/src/link", "model/files/src/pkg",
                     "model/files/src/pkg/mod.py", "model/files/src/run.sh"]
    by = {m.name: m for m in members}
    assert oct(by["model/files/src/pkg/mod.py"].mode) == oct(0o644)
    assert oct(by["model/files/src/run.sh"].mode) == oct(0o755)
    assert oct(by["model/files"].mode) == oct(0o755)
    assert by["model/files/src/link"].issym() and by["model/files/src/link"].linkname == "run.sh"
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 7)
        assert m.pax_headers == {}  # no atime/ctime/xattrs


def test_gzip_has_no_name_or_time_and_digests_are_right(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t", 0o644, 5)
    layer = write_layer(tree_entries(root, "x"), tmp_path / "spool", epoch=0, compression="gzip")
    assert layer.path is not None
    blob = layer.path.read_bytes()
    assert blob[:4] == b"\x1f\x8b\x08\x00"  # FLG=0: no file name, no comment
    assert blob[4:8] == b"\0\0\0\0"  # MTIME=0
    assert layer.descriptor.media_type == OCI_LAYER_GZIP
    assert layer.descriptor.digest == Digest.of_bytes(blob) and layer.descriptor.size == len(blob)
    tar = gzip.decompress(blob)
    assert layer.diff_id == Digest.of_bytes(tar) and layer.uncompressed_size == len(tar)
    assert layer.path.name == layer.descriptor.digest.hex


def test_uncompressed_layer_streams_in_place_and_notices_changes(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(os.urandom(3 << 20))
    layer = write_layer(tree_entries(tmp_path, "model/files", keep=lambda r: r == "w.bin"),
                        tmp_path / "spool", epoch=0, compression="none")
    assert layer.path is None and layer.descriptor.media_type == OCI_LAYER
    assert not (tmp_path / "spool").exists()  # nothing was copied
    with layer.open() as f:
        data = f.read()
    assert Digest.of_bytes(data) == layer.descriptor.digest == layer.diff_id
    assert [m.name for m in _members(data)] == ["model", "model/files", "model/files/w.bin"]
    weights.write_bytes(os.urandom(3 << 20))
    os.utime(weights, ns=(1, 1))
    with pytest.raises(LayerError, match="changed after the image was built"), layer.open() as f:
        f.read()


def test_compression_is_chosen_by_sampling(tmp_path: Path) -> None:
    (tmp_path / "random.bin").write_bytes(os.urandom(5 << 20))
    (tmp_path / "text.csv").write_bytes(b"1.0,2.0,3.0\n" * (500_000))
    (tmp_path / "small.bin").write_bytes(os.urandom(1000))
    entries = tree_entries(tmp_path, "m")
    pick = {name: choose_compression([e for e in entries if e.name == f"m/{name}"])
            for name in ("random.bin", "text.csv", "small.bin")}
    assert {name: how for name, (how, _why) in pick.items()} == {
        "random.bin": "none", "text.csv": "gzip", "small.bin": "gzip"}
    assert pick["random.bin"][1].endswith("stored uncompressed")
    assert pick["small.bin"][1] == "small layer, gzip"


def test_in_memory_entries_and_duplicates(tmp_path: Path) -> None:
    e = bytes_entry("model/contract.protobin", b"\x0a\x01x")
    layer = write_layer([e], tmp_path, epoch=0, compression="gzip")
    assert layer.path is not None
    assert [m.name for m in _members(layer.path.read_bytes())] == ["model", "model/contract.protobin"]
    with pytest.raises(LayerError, match="two different entries"):
        with_parents([e, bytes_entry("model/contract.protobin", b"other")])


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/../../b", "", "/"])
def test_paths_that_escape_are_refused(bad: str) -> None:
    with pytest.raises(LayerError, match="invalid path"):
        normalize_name(bad)


def test_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    import tracemalloc

    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(64 << 20)  # sparse: cheap to make, still 64 MiB to hash and compress
    tracemalloc.start()
    layer = write_layer(tree_entries(tmp_path, "m", keep=lambda r: r == "big.bin"), tmp_path / "spool",
                        epoch=0, compression="gzip", level=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert layer.uncompressed_size > 64 << 20
    assert peak < 16 << 20
    assert layer.path is not None
    assert hashlib.sha256(gzip.decompress(layer.path.read_bytes())).hexdigest() == layer.diff_id.hex


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_a_source_without_its_expected_bytes_makes_no_layer(tmp_path: Path, compression: str) -> None:
    from hydro_ci.image.layer import LayerEntry

    source = tmp_path / "w.bin"
    source.write_bytes(os.urandom(2 << 20))
    right = hashlib.sha256(source.read_bytes()).hexdigest()
    plain = write_layer([LayerEntry("model/w.bin", "file", source=source)], tmp_path / "a", epoch=0,
                        compression=compression)  # type: ignore[arg-type]
    checked = write_layer([LayerEntry("model/w.bin", "file", source=source, sha256=right)], tmp_path / "b",
                          epoch=0, compression=compression)  # type: ignore[arg-type]
    assert checked.descriptor == plain.descriptor  # the expected digest is not part of the layer
    # a linked file changed after the build's check: refused, nothing spooled
    wrong = hashlib.sha256(b"rendered bytes").hexdigest()
    with pytest.raises(LayerError, match="does not hold the bytes rendered into the plan"):
        write_layer([LayerEntry("model/w.bin", "file", source=source, sha256=wrong)], tmp_path / "c",
                    epoch=0, compression=compression)  # type: ignore[arg-type]
    assert [p for p in (tmp_path / "c").rglob("*") if p.is_file()] == []


def test_a_rewrite_that_keeps_size_and_mtime_is_still_noticed_before_a_push(tmp_path: Path) -> None:
    import time

    weights = tmp_path / "w.bin"
    weights.write_bytes(os.urandom(2 << 20))
    layer = write_layer(tree_entries(tmp_path, "m", keep=lambda r: r == "w.bin"), tmp_path / "spool",
                        epoch=0, compression="none")
    before = weights.stat()
    time.sleep(0.05)  # past the file system's timestamp granularity, so the write moves ctime
    weights.write_bytes(os.urandom(2 << 20))
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))  # what tar -x or cp -p do
    assert (weights.stat().st_size, weights.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(LayerError, match="changed after the image was built"), layer.open() as f:
        f.read()
