"""Deterministic layers from files: the same entries always give the same bytes and digests.

A layer is a tar (PAX, written header by header here rather than through ``tarfile.add`` so no host
data leaks in): entries sorted by path with their parent directories, uid/gid 0 with empty names,
modes 0644 (files) / 0755 (directories and executables) / 0777 (symlinks), every mtime the
time given (``hydro_ci.epoch.file_time``), no atime/ctime/xattrs. Compressed layers are gzip
without name or mtime at a fixed level, spooled to a file while the diff_id (tar) and digest
(gzip) are computed in the same single pass, so memory stays bounded whatever the size.

Uncompressed layers (chosen for large incompressible files such as model weights) are never copied:
the blob *is* the concatenation of tar headers kept in memory and the source files read in place.
Hashing it once gives both the diff_id and the digest; ``open()`` streams it again for a push and
refuses if a source file changed in between.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from hydro_ci.errors import HydroCIError
from hydro_ci.image.model import OCI_LAYER, OCI_LAYER_GZIP, Descriptor, Digest
from hydro_ci.output_files import ensure_dir

CHUNK = 1 << 20
GZIP_LEVEL = 6
# Compression that saves less than this fraction of the bytes is not worth its CPU time.
MIN_GAIN = 0.10
SAMPLE_SIZE = 256 << 10
SMALL_LAYER = 4 << 20
SAMPLES_PER_FILE = 4

Compression = Literal["gzip", "none", "auto"]
Progress = Callable[[int], None]  # called with the number of new bytes read from sources


class LayerError(HydroCIError):
    """A layer cannot be written or read (bad path, source changed, unreadable file)."""


@dataclass(frozen=True)
class LayerEntry:
    """One entry of a layer: ``name`` is its path in the image, without leading ``/``."""

    name: str
    kind: Literal["file", "dir", "symlink"]
    source: Path | None = None  # a file on disk (kind "file")
    data: bytes | None = None  # or its content in memory (kind "file")
    executable: bool = False
    linkname: str = ""
    # The content's sha256 hex when known beforehand (from the render's plan): writing the layer then
    # checks the bytes it reads against it, so a layer is never made, or cached, from other bytes.
    sha256: str | None = None

    @property
    def mode(self) -> int:
        if self.kind == "symlink":
            return 0o777
        return 0o755 if self.kind == "dir" or self.executable else 0o644

    @property
    def size(self) -> int:
        if self.kind != "file":
            return 0
        if self.data is not None:
            return len(self.data)
        assert self.source is not None
        return self.source.stat().st_size


def normalize_name(name: str) -> str:
    """``./a//b/`` → ``a/b``; refuse absolute paths and ``..`` (they would escape the image root)."""
    p = PurePosixPath(name.replace(os.sep, "/"))
    parts = [x for x in p.parts if x not in ("", ".", "/")]
    if not parts or ".." in parts:
        raise LayerError(f"invalid path in layer: {name!r}")
    return "/".join(parts)


def file_entry(name: str, source: Path) -> LayerEntry:
    st = source.stat()
    return LayerEntry(normalize_name(name), "file", source=source,
                      executable=bool(st.st_mode & 0o111))


def bytes_entry(name: str, data: bytes, *, executable: bool = False) -> LayerEntry:
    return LayerEntry(normalize_name(name), "file", data=data, executable=executable)


def tree_entries(root: Path, prefix: str, *, keep: Callable[[str], bool] | None = None) -> list[LayerEntry]:
    """Every file, directory and symlink under ``root`` placed under ``prefix`` in the image.

    ``keep(relative_posix_path)`` filters; symlinks are kept as symlinks (as ``COPY`` does).
    """
    out: list[LayerEntry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(dirnames) + sorted(filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if keep is not None and not keep(rel):
                continue
            target = f"{prefix}/{rel}"
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out.append(LayerEntry(normalize_name(target), "symlink", linkname=os.readlink(path)))
            elif stat.S_ISDIR(st.st_mode):
                out.append(LayerEntry(normalize_name(target), "dir"))
            elif stat.S_ISREG(st.st_mode):
                out.append(LayerEntry(normalize_name(target), "file", source=path,
                                      executable=bool(st.st_mode & 0o111)))
    # os.walk does not descend into symlinked directories, which is what we want.
    return out


def with_parents(entries: Iterable[LayerEntry]) -> list[LayerEntry]:
    """Entries sorted by path with every missing parent directory added; duplicates refused."""
    by_name: dict[str, LayerEntry] = {}
    for e in entries:
        if e.name in by_name and by_name[e.name] != e:
            raise LayerError(f"two different entries for {e.name!r} in one layer")
        by_name[e.name] = e
        parent = PurePosixPath(e.name).parent
        while str(parent) not in (".", "/", ""):
            by_name.setdefault(str(parent), LayerEntry(str(parent), "dir"))
            parent = parent.parent
    # Sort by path components so "a/b" comes right after "a", before "a-b".
    return [by_name[k] for k in sorted(by_name, key=lambda n: n.split("/"))]


def _header(entry: LayerEntry, size: int, epoch: int) -> bytes:
    info = tarfile.TarInfo(entry.name)
    info.mode = entry.mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = epoch
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif entry.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, entry.linkname
    else:
        info.type, info.size = tarfile.REGTYPE, size
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


@dataclass(frozen=True)
class _Source:
    path: Path
    size: int
    mtime_ns: int
    ctime_ns: int  # changes with any write, and cannot be set back
    sha256: str | None = None  # expected content, checked while a layer is written

    def changed(self, st: os.stat_result) -> bool:
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns) != (self.size, self.mtime_ns, self.ctime_ns)


Segment = bytes | _Source


def _segments(entries: Sequence[LayerEntry], epoch: int) -> list[Segment]:
    """The tar stream as a list: header/padding bytes (merged) and file sources read in place."""
    out: list[Segment] = []
    pending = bytearray()
    for e in with_parents(entries):
        if e.kind == "file" and e.source is not None:
            try:
                st = e.source.stat()
            except OSError as exc:
                raise LayerError(f"cannot read {e.source}: {exc.strerror}") from None
            pending += _header(e, st.st_size, epoch)
            out.append(bytes(pending))
            pending.clear()
            out.append(_Source(e.source, st.st_size, st.st_mtime_ns, st.st_ctime_ns, e.sha256))
            pending += b"\0" * (-st.st_size % 512)
        else:
            data = e.data or b""
            pending += _header(e, len(data), epoch) + data + b"\0" * (-len(data) % 512)
    pending += b"\0" * 1024  # end of archive
    out.append(bytes(pending))
    return [s for s in out if not isinstance(s, bytes) or s]


def _read_segments(segments: Sequence[Segment], check: bool, verify: bool = False) -> Iterator[bytes]:
    """The stream's blocks. ``check``: refuse a source whose stat changed since the segments were made
    (a push after a build). ``verify``: hash each source with a known sha256 and refuse other bytes
    (a layer being written: what it is remembered by must be what it holds)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        for seg in segments:
            if isinstance(seg, bytes):
                yield seg
                continue
            yield from _read_source(seg, check, pool if verify and seg.sha256 else None)


def _read_source(seg: _Source, check: bool, pool: ThreadPoolExecutor | None) -> Iterator[bytes]:
    try:
        f = open(seg.path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise LayerError(f"cannot read {seg.path}: {exc.strerror}") from None
    digest = hashlib.sha256()
    with f:
        if check and seg.changed(os.fstat(f.fileno())):
            raise LayerError(f"{seg.path} changed after the image was built", hint="build again, then push")
        left = seg.size
        while left > 0:
            block = f.read(min(CHUNK, left))
            if not block:
                raise LayerError(f"{seg.path} shrank while it was being read")
            left -= len(block)
            # On another core while the consumer hashes (and compresses) the same block: hashlib lets go
            # of the GIL for large updates, so checking the content costs little wall time.
            pending = pool.submit(digest.update, block) if pool is not None else None
            yield block
            if pending is not None:
                pending.result()
    if pool is not None and digest.hexdigest() != seg.sha256:
        raise LayerError(f"{seg.path} does not hold the bytes rendered into the plan (it changed since)",
                         hint="render again, then build")


class _SegmentReader(io.RawIOBase):
    """A read-only stream over segments: what an uncompressed layer's ``open()`` returns."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self._it = _read_segments(segments, check=True)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            nxt = next(self._it, None)
            if nxt is None:
                return 0
            self._buf = nxt
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        while not self._buf:
            nxt = next(self._it, None)
            if nxt is None:
                return b""
            self._buf = nxt
        out, self._buf = self._buf[:size], self._buf[size:]
        return out


@dataclass(frozen=True)
class Layer:
    """A written layer: a ``Blob`` plus what the image config needs (``diff_id``)."""

    descriptor: Descriptor
    diff_id: Digest
    uncompressed_size: int
    path: Path | None = None  # the spooled blob (compressed layers)
    segments: tuple[Segment, ...] = ()  # the blob read in place (uncompressed layers)

    @property
    def compressed(self) -> bool:
        return self.descriptor.media_type != OCI_LAYER

    def open(self) -> BinaryIO:
        if self.path is not None:
            return open(self.path, "rb")
        return io.BufferedReader(_SegmentReader(self.segments), CHUNK)


def compression_gain(paths: Iterable[Path]) -> float:
    """Estimated fraction of bytes gzip saves on these files, from a few samples of each."""
    raw = packed = 0
    for path in paths:
        size = path.stat().st_size
        if size == 0:
            continue
        count = SAMPLES_PER_FILE if size > SAMPLE_SIZE * SAMPLES_PER_FILE else 1
        with open(path, "rb") as f:
            for i in range(count):
                f.seek(size * i // count)
                block = f.read(SAMPLE_SIZE)
                raw += len(block)
                packed += len(zlib.compress(block, 1))
    return 1.0 - packed / raw if raw else 1.0


def choose_compression(entries: Sequence[LayerEntry]) -> Literal["gzip", "none"]:
    """gzip unless the layer is large and samples say gzip would save less than ``MIN_GAIN``."""
    sources = [e.source for e in entries if e.kind == "file" and e.source is not None]
    if sum(e.size for e in entries) < SMALL_LAYER:
        return "gzip"  # cheap either way; tar headers and code compress well
    return "gzip" if compression_gain(sources) >= MIN_GAIN else "none"


class _Hasher:
    """A write-only sink that hashes and forwards (gzip output → hash + spool file)."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self._sink = sink

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self._sink.write(data)
        return len(data)

    def flush(self) -> None:
        self._sink.flush()


def write_layer(entries: Sequence[LayerEntry], spool_dir: Path, *, epoch: int,
                compression: Compression = "auto", level: int = GZIP_LEVEL,
                progress: Progress | None = None) -> Layer:
    """Write ``entries`` as one layer; compressed blobs land in ``spool_dir/sha256/<hex>``."""
    if compression == "auto":
        compression = choose_compression(entries)
    segments = _segments(entries, epoch)
    tar_sha = hashlib.sha256()
    tar_size = 0
    if compression == "none":
        for block in _read_segments(segments, check=False, verify=True):
            tar_sha.update(block)
            tar_size += len(block)
            if progress:
                progress(len(block))
        diff_id = Digest("sha256", tar_sha.hexdigest())
        return Layer(Descriptor(OCI_LAYER, diff_id, tar_size), diff_id, tar_size,
                     segments=tuple(segments))
    out_dir = ensure_dir(spool_dir / "sha256", within=spool_dir)
    # Named by its digest once written, so not through atomic_writer; mkstemp and the rename
    # follow no link all the same.
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".spool-")
    try:
        with os.fdopen(fd, "wb") as raw:
            sink = _Hasher(raw)
            # filename="" and mtime=0: the gzip header carries no host data.
            with gzip.GzipFile(filename="", mode="wb", compresslevel=level,
                               fileobj=sink, mtime=0) as gz:
                for block in _read_segments(segments, check=False, verify=True):
                    tar_sha.update(block)
                    tar_size += len(block)
                    gz.write(block)
                    if progress:
                        progress(len(block))
        digest = Digest("sha256", sink.sha.hexdigest())
        final = out_dir / digest.hex
        os.chmod(tmp, 0o644)  # mkstemp made it 0600
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Layer(Descriptor(OCI_LAYER_GZIP, digest, sink.size),
                 Digest("sha256", tar_sha.hexdigest()), tar_size, path=final)
