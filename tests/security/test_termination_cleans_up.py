"""SIGTERM (what `timeout`, a cancelled CI job and `docker stop` send) is handled like Ctrl-C.

Real subprocesses and real signals: a render stopped mid-copy leaves no half context (the next
render would refuse the folder), a push stopped mid-upload leaves no tag or manifest, and both end
in one ``error:`` line with the conventional exit status 128 + the signal's number.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from registry.faultproxy import Fault, FaultProxy
from registry.regkit import FAST

from hydro_ci.image.layout import write_layout
from hydro_ci.image.model import OCI_LAYER, Descriptor, Digest, FileBlob, Image, ImageConfig
from hydro_ci.registry import RegistryClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris-sklearn"
HANG = 120.0  # seconds: only a hang gets near this
SIGNALS = [(signal.SIGINT, 130, "error: interrupted"), (signal.SIGTERM, 143, "error: terminated")]


def _default_signals() -> None:
    # A shell running the tests in the background may hand its children SIGINT ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _big_sparse(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.write(os.urandom(16))
        f.truncate(size)


@pytest.mark.parametrize(("sig", "status", "line"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_a_render_stopped_mid_copy_leaves_no_half_context(tmp_path: Path, sig: int, status: int,
                                                          line: str) -> None:
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE, model, ignore=shutil.ignore_patterns(".hydro-ci", "__pycache__"))
    _big_sparse(model / "model.joblib", 4 << 30)  # copied, not linked: long enough to be caught
    out = tmp_path / "ctx"
    partial = out / "model" / "files" / "model.joblib"
    stderr_path = tmp_path / "stderr.txt"
    render = [sys.executable, "-m", "hydro_ci", "render", str(model), "--output", str(out)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(render, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=_default_signals,
                                env=env)
        try:
            deadline = time.monotonic() + HANG
            while proc.poll() is None and time.monotonic() < deadline:
                if partial.exists() and partial.stat().st_size > 0:
                    break
                time.sleep(0.002)
            assert proc.poll() is None, f"render ended before it could be stopped:\n{stderr_path.read_text()}"
            proc.send_signal(sig)
            proc.wait(timeout=HANG)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = stderr_path.read_text()
    assert proc.returncode == status, err
    assert err.strip().splitlines()[-1] == line and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == [], sorted(p.name for p in out.iterdir())
    # The next render takes the folder as it finds it.
    (model / "model.joblib").write_bytes(b"small now")
    again = subprocess.run(render, capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr


@pytest.mark.registry
def test_sigterm_during_an_upload_stops_it_and_writes_no_tag(open_registry: Any, unique_repo: str,
                                                             tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    _big_sparse(weights, 64 << 20)
    layer = FileBlob(Descriptor(OCI_LAYER, Digest.of_file(weights), 64 << 20), weights)
    config = ImageConfig.empty().to_dict()
    config["rootfs"]["diff_ids"] = [str(layer.descriptor.digest)]
    image = Image.assemble(ImageConfig(config), [layer])
    layout_dir = tmp_path / "oci"
    write_layout(layout_dir, {"1.0.0": image})
    stall = Fault("stall", "PATCH", r"/blobs/uploads/", after=1 << 20)
    stderr_path = tmp_path / "stderr.txt"
    with FaultProxy(open_registry.host) as proxy, stderr_path.open("w") as stderr:
        proxy.add(stall)
        proc = subprocess.Popen(
            [sys.executable, "-m", "hydro_ci", "push", "--builder", "oci", "--layout", str(layout_dir),
             "--image", f"{proxy.host}/{unique_repo}", "--version", "1.0.0"],
            stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "CI": "true"},
            preexec_fn=_default_signals)
        try:
            assert stall.reached.wait(HANG), f"the upload never started:\n{stderr_path.read_text()}"
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=HANG)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = stderr_path.read_text()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "error: terminated" and "Traceback" not in err
    with RegistryClient(open_registry.host, insecure=True, retries=FAST) as client:
        assert client.list_tags(unique_repo) == []
        assert client.head_manifest(unique_repo, str(image.manifest_digest)) is None
    assert not [p for m, p, _ in proxy.log if m == "PUT" and "/manifests/" in p]
