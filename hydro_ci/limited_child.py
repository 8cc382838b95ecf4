"""Work on hostile input in a forked child limited in CPU and memory, its answer back through a pipe.

For work whose cost the input decides and that cannot be bounded from inside: a user's Jinja
template (render/dockerfile.py), or a C library reading a file of a pull request (HDF5, for legacy
Keras .h5 files: a crash, a hang or a huge allocation there ends the child, not hydro-ci).
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable

WALL_SECONDS_PER_CPU_SECOND = 6  # a loaded 2-core runner gives a child a sixth of a core


def run_limited(work: Callable[[], bytes], *, cpu_seconds: int, memory: int, max_output: int) -> bytes | None:
    """``work()`` in a forked child with ``cpu_seconds`` of CPU and ``memory`` bytes of address space
    more than it starts with, no core dump, and ``WALL_SECONDS_PER_CPU_SECOND`` times as long on the
    clock; its bytes, or None when it raised, died (a signal, a limit), was stopped, or answered more
    than ``max_output`` bytes. Where there is no fork, in-process."""
    if not hasattr(os, "fork"):
        return work()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            _limit_this_process(cpu_seconds, memory)
            answer = work()
            with os.fdopen(write_end, "wb") as out:
                out.write(answer)
        except BaseException:  # noqa: BLE001 - the parent reports the lost child, not a traceback here
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    # CPU time ends a spinning child; the clock ends one that waits (a lock another thread of ours
    # held at the fork, a stuck read)
    deadline = time.monotonic() + WALL_SECONDS_PER_CPU_SECOND * cpu_seconds
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= max_output:  # a child writing more meets a closed pipe and fails
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(read_end, max_output + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(read_end)
    if size > max_output:
        os.kill(pid, signal.SIGKILL)  # it said too much: whatever it does next is not waited for
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or size > max_output:
        return None
    return b"".join(chunks)


def _limit_this_process(cpu_seconds: int, memory: int) -> None:
    import resource  # POSIX only, like fork

    def lower(which: int, soft: int, hard: int) -> None:
        """Lower a limit, never raise one (an unprivileged process may not; the runner's stays)."""
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:  # (RLIM_INFINITY is -1: no min() with it)
            soft = current if soft == resource.RLIM_INFINITY else min(soft, current)
            hard = current if hard == resource.RLIM_INFINITY else min(hard, current)
        resource.setrlimit(which, (soft, hard))

    lower(resource.RLIMIT_CORE, 0, 0)
    lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    try:
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # no /proc: the CPU limit still ends a runaway child
    lower(resource.RLIMIT_AS, used + memory, resource.RLIM_INFINITY)
