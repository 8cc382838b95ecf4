"""Test aids for the registry tests: fast retries and minimal hand-made images."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
import requests

from hydro_ci.image.model import OCI_LAYER, BytesBlob, Image, ImageConfig
from hydro_ci.registry import RetryPolicy

# Fast retries: the tests exercise the logic, not the waiting.
FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


def make_image(labels: dict[str, str] | None = None, payload: bytes = b"layer", n_layers: int = 1) -> Image:
    """A minimal OCI image: a config with ``labels`` and ``n_layers`` uncompressed blobs."""
    config = ImageConfig.empty().to_dict()
    config["config"]["Labels"] = dict(labels or {})
    layers = [BytesBlob.of(OCI_LAYER, payload + bytes([i]) * (i + 1)) for i in range(n_layers)]
    config["rootfs"]["diff_ids"] = [str(b.descriptor.digest) for b in layers]
    return Image.assemble(ImageConfig(config), layers)




class RecordingSession(requests.Session):
    """A real session that notes each request's method and URL (to count PATCHes, pages…)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        self.calls.append((str(method), str(url)))
        return super().request(method, url, *args, **kwargs)

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


def need(tool: str, how: str = "bash .ci/services.sh installs it") -> str:
    """The path of ``tool``; skipped locally when missing, failed in CI (never silently green)."""
    path = shutil.which(tool)
    if path is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{tool} is not installed ({how})")
    assert path is not None
    return path
