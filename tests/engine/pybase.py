"""A Python base image for engine tests, made here (nothing can be pulled from Docker Hub).

``mmdebstrap --variant=apt --include=python3,python3-pip`` from the machine's own apt sources,
written once to a cache tarball and ``docker import``ed under a tag keyed by this recipe. Debian's
EXTERNALLY-MANAGED marker is removed so that ``pip install`` behaves as in a python runtime image.
Run directly (``python tests/engine/pybase.py``) to warm the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("HYDRO_CI_TEST_CACHE", "/var/cache/hydro-ci-test"))
PACKAGES = "python3,python3-pip"
HOOK = 'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED; rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*'


FALLBACK_SUITE = "bookworm"  # on a non-Debian host (e.g. Ubuntu CI runners): deb.debian.org


def _os_release() -> dict[str, str]:
    out = {}
    for line in Path("/etc/os-release").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value.strip('"')
    return out


def _suite() -> str:
    release = _os_release()
    if release.get("ID") == "debian" and release.get("VERSION_CODENAME") and _host_sources():
        return release["VERSION_CODENAME"]
    return FALLBACK_SUITE


def _host_sources() -> list[str]:
    paths = [Path("/etc/apt/sources.list")]
    paths += sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    paths += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    return [str(p) for p in paths if p.is_file() and "debian.org" in p.read_text()]


def _mirrors() -> list[str]:
    """The machine's Debian apt sources (pasted by mmdebstrap into the chroot), else Debian's mirror."""
    if _suite() == FALLBACK_SUITE and _os_release().get("ID") != "debian":
        return ["http://deb.debian.org/debian"]
    return _host_sources()


def recipe_key() -> str:
    text = "|".join([_suite(), PACKAGES, HOOK, *(Path(m).read_text() if Path(m).is_file() else m
                                                 for m in _mirrors())])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def image_tag() -> str:
    return f"hydro-ci-test/python:{_suite()}-{recipe_key()}"


def _image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def ensure_python_base() -> str:
    """The engine tag of the Python base, building and importing it when missing."""
    tag = image_tag()
    if _image_exists(tag):
        return tag
    tarball = CACHE / f"python-{_suite()}-{recipe_key()}.tar"
    if not tarball.is_file():
        if shutil.which("mmdebstrap") is None:
            raise RuntimeError("mmdebstrap is not installed (apt-get install mmdebstrap)")
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")
        subprocess.run(
            ["mmdebstrap", "--quiet", "--variant=apt", f"--include={PACKAGES}",
             f"--customize-hook={HOOK}", "--format=tar", _suite(), str(partial), *_mirrors()],
            check=True, capture_output=True,
        )
        partial.rename(tarball)
    subprocess.run(["docker", "import", str(tarball), tag], check=True, capture_output=True)
    return tag


if __name__ == "__main__":
    print(ensure_python_base())
