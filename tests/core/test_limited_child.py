"""hydro_ci.limited_child: what a child cannot survive is None to its parent, never a crash of ours."""

from __future__ import annotations

import os
import signal
import time

import pytest

from hydro_ci.limited_child import run_limited


def _crash() -> bytes:
    os.kill(os.getpid(), signal.SIGSEGV)  # what a C library reading a hostile file may do
    return b"unreachable"


def _allocate() -> bytes:
    return b"x" * (1 << 30)


def _spin() -> bytes:
    while True:
        pass


def _wait() -> bytes:
    time.sleep(3600)  # no CPU spent: the clock stops it
    return b"unreachable"


def _raise() -> bytes:
    raise ValueError("no")


def _chatty() -> bytes:
    return b"y" * 2048


@pytest.mark.parametrize("work", [_crash, _allocate, _spin, _wait, _raise, _chatty])
def test_what_kills_or_fails_the_child_is_none(work: object) -> None:
    assert run_limited(work, cpu_seconds=1, memory=256 << 20, max_output=1024) is None  # type: ignore[arg-type]


def test_the_childs_answer_comes_back() -> None:
    assert run_limited(lambda: b"answer", cpu_seconds=1, memory=256 << 20, max_output=1024) == b"answer"


def test_a_child_under_a_lower_hard_limit_still_runs() -> None:
    """The runner (or `ulimit -v`) may have set a hard memory limit: the child keeps it, and works."""
    import resource
    import subprocess
    import sys

    code = ("import resource; from hydro_ci.limited_child import run_limited\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            "print(run_limited(lambda: b'ok', cpu_seconds=5, memory=256 << 20, max_output=10))\n")
    del resource
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "b'ok'", out.stderr
