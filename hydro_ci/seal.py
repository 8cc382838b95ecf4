"""Files hydro-ci writes for a later run to read back, sealed so that a checkout cannot supply them.

A stage run alone (``pipeline --only build``) reads what earlier stages wrote into the output folder:
``.hydro-ci/<model>/version.json``, ``build.json``, ``context/plan.json``, ``context/links.json``, …
In CI that folder lies in a pull request's checkout, which may commit files there: a plan whose
payload files are host files, a links.json pointing at ``~/.docker/config.json``, a version.json whose
tags move a released version, a build.json pointing the push at another image. So where a file lies
says nothing about who wrote it. Each such file is written with a seal beside it (``.NAME.seal``:
HMAC-SHA256 of its name and bytes, under a key that never lies in a checkout) and read back only when
the seal matches; anything else (no seal, other bytes, another name, a link, not a regular file) is
refused before a byte of it is used. One rule for every file, present and future, instead of a check
per field.

The key: ``HYDRO_CI_STATE_KEY`` (at least 32 characters; the same secret in every job of a pipeline
split across machines), else 32 random bytes made once in the cache directory (``HYDRO_CI_CACHE``,
which must not lie in the checkout), readable by its owner only; if that cannot be written, a key
for this process alone. What a seal cannot stop: a file hydro-ci itself wrote, under the same key and
name, put back later (an artifact of an earlier run): it holds only what hydro-ci once wrote.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from pathlib import Path

from hydro_ci.cache import cache_dir
from hydro_ci.errors import HydroCIError, UsageError
from hydro_ci.input_files import open_regular, read_bounded
from hydro_ci.output_files import write_file

log = logging.getLogger(__name__)

STATE_KEY_ENV = "HYDRO_CI_STATE_KEY"
KEY_FILE = "state.key"
MIN_KEY_CHARS = 32
MAX_SEALED_SIZE = 256 << 20  # a plan.json of a million payload files is ~250 MB
_SCHEME = "hmac-sha256:"
# Said with every refusal: how a pipeline split across machines carries its files from one to the next.
SPLIT_HINT = (f"a pipeline split across machines needs the same {STATE_KEY_ENV} (a secret) in every job; "
              "files from a checkout are never read")
_DOMAIN = b"hydro-ci seal 1\0"


class SealError(HydroCIError):
    """A file hydro-ci would read back was not written (sealed) by hydro-ci with this key."""


def seal_path(path: Path) -> Path:
    """Where the seal of ``path`` lies: ``.NAME.seal`` beside it."""
    return path.with_name(f".{path.name}.seal")


def write_sealed(path: Path, data: str | bytes, *, within: Path | None = None) -> Path:
    """Write ``path`` (atomically, never through a link: hydro_ci.output_files) and its seal."""
    raw = data.encode() if isinstance(data, str) else data
    write_file(path, raw, within=within)
    write_file(seal_path(path), _SCHEME + _mac(path.name, raw) + "\n", within=within)
    return path


def read_sealed(path: Path, *, hint: str, limit: int = MAX_SEALED_SIZE) -> bytes:
    """The bytes of ``path`` if hydro-ci wrote them there (its seal matches); SealError (with ``hint``)
    otherwise. FileNotFoundError when ``path`` itself does not exist, for the caller to explain."""
    try:
        data = read_bounded(path, limit)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EINVAL):
            raise
        raise SealError(f"{path} is not a file hydro-ci wrote (a symbolic link, or not a regular file)",
                        hint=hint) from None
    if data is None:
        raise SealError(f"{path} is larger than hydro-ci writes ({limit >> 20} MiB)", hint=hint)
    try:
        seal = read_bounded(seal_path(path), 256)
    except OSError:
        seal = None
    if seal is None:
        raise SealError(f"{path} was not written by hydro-ci: it has no seal ({seal_path(path).name})",
                        hint=hint)
    expected = (_SCHEME + _mac(path.name, data)).encode()
    if not hmac.compare_digest(seal.strip(), expected):
        raise SealError(f"{path} was not written by hydro-ci with this key: its seal does not match "
                        "(changed since, or sealed elsewhere)", hint=hint)
    return data


def _mac(name: str, data: bytes) -> str:
    return hmac.new(_key(), _DOMAIN + name.encode() + b"\0" + data, hashlib.sha256).hexdigest()


def _key() -> bytes:
    given = os.environ.get(STATE_KEY_ENV)
    if given:
        if len(given) < MIN_KEY_CHARS:
            raise UsageError(f"{STATE_KEY_ENV} must hold at least {MIN_KEY_CHARS} characters",
                             hint="e.g. the output of: openssl rand -hex 32")
        return hashlib.sha256(b"hydro-ci state key\0" + given.encode()).digest()
    return _key_in(str(cache_dir()))


@functools.lru_cache(maxsize=8)
def _key_in(directory: str) -> bytes:
    path = Path(directory) / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise HydroCIError(f"cannot read the key that seals output files, {path}: {exc.strerror or exc}",
                           hint="make it a regular file readable by this user, or delete it") from None
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{KEY_FILE}.")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
            with contextlib.suppress(FileExistsError):  # another process made one first: keep it
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        return _read_key(path)
    except OSError as exc:  # a read-only cache: seals then hold for this process only
        log.warning("cannot keep the key that seals output files in %s (%s): a later run cannot read "
                    "them back; set %s or a writable HYDRO_CI_CACHE", directory, exc.strerror or exc,
                    STATE_KEY_ENV)
        return secrets.token_bytes(32)


def _read_key(path: Path) -> bytes:
    with open_regular(path) as fh:
        key = fh.read(33)
    if len(key) != 32:
        raise HydroCIError(f"the key that seals output files, {path}, is damaged",
                           hint="delete it (output folders sealed with it must then be written again)")
    return key
