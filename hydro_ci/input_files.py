"""Reading a file a checkout may have planted: a regular file, never through a link, never blocking.

A model folder, and every other path under a pull request's checkout, may be a symlink to a host
file, a FIFO that blocks a reader forever or a device that never ends. ``open_regular`` opens with
O_NOFOLLOW|O_NONBLOCK and checks the opened descriptor, so a link swapped in after a walk is not
followed either. (The payload walk, in hydro_ci.contract.payload, decides which files those are.)
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for a message ("a FIFO", "a device", …)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(path: Path | str) -> IO[bytes]:
    """``path`` opened for reading if it is a regular file: never through a link put there since it
    was listed (O_NOFOLLOW), never blocking on a FIFO or streaming from a device (checked on the
    opened file). OSError otherwise, with ELOOP for a link and EINVAL for anything not regular."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{file_kind(mode)}, not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: Path | str, limit: int) -> bytes | None:
    """The bytes of the regular file ``path``, or None when it holds more than ``limit``."""
    with open_regular(path) as fh:
        data = fh.read(limit + 1)
    return None if len(data) > limit else data
