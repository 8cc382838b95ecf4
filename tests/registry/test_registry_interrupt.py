"""Stopping a push while a blob is going up: a real SIGINT to `hydro-ci push`, and ``cancel``.

A stalling proxy holds the upload mid-body (it stops reading after 1 MiB until told to go on), so
"the upload is under way" is a fact the test waits for, not a guess about timing. A push that kept
waiting for its running uploads would wait on that stall for ever; the generous bound below only
turns such a hang into a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from faultproxy import Fault, FaultProxy
from regkit import FAST

from hydro_ci.image.layout import write_layout
from hydro_ci.image.model import OCI_LAYER, Descriptor, Digest, FileBlob, Image, ImageConfig
from hydro_ci.image.remote import push_image
from hydro_ci.reference import ImageReference
from hydro_ci.registry import RegistryClient
from hydro_ci.registry.client import UploadCancelledError

pytestmark = pytest.mark.registry

HANG = 120.0  # seconds: only a hang ever gets near this
STALL_AFTER = 1 << 20


def _one_big_layer(tmp_path: Path, size: int) -> Image:
    """An image whose one layer is a ``size``-byte sparse file (unique, so no registry has it)."""
    weights = tmp_path / "weights.bin"
    with weights.open("wb") as f:
        f.write(uuid.uuid4().bytes)
        f.truncate(size)
    layer = FileBlob(Descriptor(OCI_LAYER, Digest.of_file(weights), size), weights)
    config = ImageConfig.empty().to_dict()
    config["rootfs"]["diff_ids"] = [str(layer.descriptor.digest)]
    return Image.assemble(ImageConfig(config), [layer])


def _nothing_arrived(registry: Any, repo: str, image: Image, proxy: FaultProxy) -> None:
    """No tag, no manifest, no layer: what the guarantee promises after an interrupted push."""
    with RegistryClient(registry.host, insecure=True, retries=FAST) as client:
        assert client.list_tags(repo) == []
        assert client.head_manifest(repo, str(image.manifest_digest)) is None
        assert not client.blob_exists(repo, str(image.layers[0].descriptor.digest))
    assert not [p for m, p, _ in proxy.log if m == "PUT" and "/manifests/" in p]


def _default_sigint() -> None:
    # A shell running the tests in the background may hand its children SIGINT ignored; Python
    # only turns SIGINT into KeyboardInterrupt when it starts with the default disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_during_an_upload_exits_without_waiting_for_it(open_registry: Any, unique_repo: str,
                                                              tmp_path: Path) -> None:
    image = _one_big_layer(tmp_path, 64 << 20)  # one PATCH (chunks are 64 MiB)
    layout_dir = tmp_path / "oci"
    write_layout(layout_dir, {"1.0.0": image})
    stall = Fault("stall", "PATCH", r"/blobs/uploads/", after=STALL_AFTER)
    stderr_path = tmp_path / "stderr.txt"
    with FaultProxy(open_registry.host) as proxy, stderr_path.open("w") as stderr:
        proxy.add(stall)
        proc = subprocess.Popen(
            [sys.executable, "-m", "hydro_ci", "push", "--builder", "oci", "--layout", str(layout_dir),
             "--image", f"{proxy.host}/{unique_repo}", "--version", "1.0.0"],
            stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "CI": "true"},
            preexec_fn=_default_sigint,
        )
        try:
            for _ in range(int(HANG * 10)):
                if stall.reached.wait(0.1) or proc.poll() is not None:
                    break
            assert stall.reached.is_set(), f"the upload never started:\n{stderr_path.read_text()}"
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=HANG)
            except subprocess.TimeoutExpired:
                pytest.fail("hydro-ci push still waits for the upload under way after SIGINT")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = stderr_path.read_text()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "error: interrupted" and "Traceback" not in err
    _nothing_arrived(open_registry, unique_repo, image, proxy)


def test_cancel_stops_a_running_upload_at_its_next_block(open_registry: Any, unique_repo: str,
                                                         tmp_path: Path) -> None:
    size = 128 << 20
    image = _one_big_layer(tmp_path, size)
    stall = Fault("stall", "PATCH", r"/blobs/uploads/", after=STALL_AFTER)
    cancel = threading.Event()
    outcome: list[object] = []
    with FaultProxy(open_registry.host) as proxy:
        proxy.add(stall)
        # One PATCH for the whole blob, so `stall.received` counts every byte that got through.
        client = RegistryClient(proxy.host, insecure=True, retries=FAST, chunk_size=size)

        def push() -> None:
            try:
                outcome.append(push_image(client, ImageReference(proxy.host, unique_repo), image,
                                          immutable_tags=["1.0.0"], cancel=cancel))
            except Exception as exc:  # noqa: BLE001 - checked below
                outcome.append(exc)

        thread = threading.Thread(target=push, daemon=True)
        thread.start()
        assert stall.reached.wait(HANG), outcome
        cancel.set()
        stall.resume.set()  # the proxy reads on: only the check between blocks can stop the upload now
        thread.join(HANG)
        assert not thread.is_alive(), "push_image did not return after cancel"
    assert len(outcome) == 1 and isinstance(outcome[0], UploadCancelledError), outcome
    assert "cancelled" in str(outcome[0]) and outcome[0].hint
    # What was in flight (socket buffers) got through; the rest of the 128 MiB never left.
    assert stall.content_length == size  # sent with its length, not chunked
    assert STALL_AFTER <= stall.received < size // 2
    _nothing_arrived(open_registry, unique_repo, image, proxy)
