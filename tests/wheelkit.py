"""A tiny pure-Python wheel written by hand, for tests that install requirements with no network.

Shared by the engine tests (pip inside a container) and the daemonless builder tests (pip
--target on the host). Deterministic: sorted entries with a fixed date, so equal inputs give equal
wheel bytes.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

WHEEL_MAGIC = "hydro-tiny-installed-ok"  # the module's MAGIC, for checking the install took effect


def write_wheel(directory: Path, name: str = "hydrotiny", version: str = "1.0", *,
                metadata: str = "", tag: str = "py3-none-any") -> Path:
    """``directory/NAME-VERSION-TAG.whl`` with a module ``NAME`` (``MAGIC``, ``VERSION``);
    ``metadata``: more METADATA header lines (``License-Expression: MIT``); ``tag``: the wheel's
    compatibility tag (``cp37-none-any`` installs only for Python 3.7)."""
    files = {
        f"{name}/__init__.py": f"MAGIC = {WHEEL_MAGIC!r}\nVERSION = {version!r}\n".encode(),
        f"{name}-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{metadata}".encode(),
        f"{name}-{version}.dist-info/WHEEL":
            f"Wheel-Version: 1.0\nGenerator: hydro-ci-tests\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in sorted(files.items()):
            z.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
    return wheel
