"""Blob uploads stream from disk: memory stays bounded whatever the blob's size."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from regkit import FAST, RecordingSession

from hydro_ci.registry import RegistryClient

pytestmark = pytest.mark.registry

MiB = 1 << 20


def _write_blob(path: Path, mib: int) -> str:
    """``mib`` MiB of incompressible-looking bytes, written 1 MiB at a time; returns the digest."""
    h = hashlib.sha256()
    seed = hashlib.sha512(path.name.encode()).digest() * (MiB // 64)
    with path.open("wb") as f:
        for i in range(mib):
            block = i.to_bytes(4, "big") + seed[4:]
            h.update(block)
            f.write(block)
    return "sha256:" + h.hexdigest()


@pytest.mark.parametrize(("mib", "chunk_mib", "monolithic_mib", "patches"), [
    (40, 8, 4, 5),    # chunked: 5 PATCH requests of 8 MiB
    (12, 8, 16, 0),   # monolithic: one streamed PUT of 12 MiB
])
def test_upload_memory_is_bounded(mib: int, chunk_mib: int, monolithic_mib: int, patches: int,
                                  open_registry: Any, unique_repo: str, tmp_path: Path) -> None:
    blob = tmp_path / "weights.bin"
    digest = _write_blob(blob, mib)
    session = RecordingSession()
    client = RegistryClient(open_registry.host, insecure=True, retries=FAST, session=session,
                            chunk_size=chunk_mib * MiB, monolithic_max=monolithic_mib * MiB)
    reports: list[int] = []
    tracemalloc.start()
    try:
        sent = client.upload_blob(unique_repo, digest, mib * MiB, lambda: blob.open("rb"),
                                  progress=lambda done, total: reports.append(done))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == mib * MiB
    assert session.methods().count("PATCH") == patches
    # Python allocations during the whole upload stay under 2 MiB: far below one chunk, let alone
    # the blob (reading the file whole would peak at ≥ mib MiB).
    assert peak < 2 * MiB, f"peak {peak / MiB:.1f} MiB for a {mib} MiB blob"
    assert client.blob_exists(unique_repo, digest)
    # Progress about once a MiB, not once per 16 KiB block; it ends at the full size.
    assert reports[-1] == mib * MiB and mib <= len(reports) <= mib + patches + 1
