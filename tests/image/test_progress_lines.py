"""Progress stays readable: one whole line per event in a log, a running total on a terminal.

A push uploads blobs from several threads; their lines must never run together
(``…uploaded (1,449 bytes)[push] a73f…: uploaded (304 bytes)``).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.build import ProgressEvent
from tests.image.bases import write_base

SERVING = """kind: Model
name: lines
runtime: "hydro-ci-test/busybox:1"
payload: ["src/"]
contract:
  name: infer
  inputs:
    x: {shape: scalar, type: float32}
  outputs:
    y: {shape: scalar, type: float32}
"""

# Thread switches as often as the interpreter allows: a line cut by another thread's line then shows
# up on every run, not once in a while.
RUN_CLI = "import sys; sys.setswitchinterval(1e-6); from hydro_ci.cli import main; sys.exit(main())"

PUSH_LINE = re.compile(r"\[push\] ([0-9a-f]{12}): (uploaded|exists|mounted) \([\d,]+ bytes\)")
ANY_LINE = re.compile(r"\[(base|hash|deps|layer|push)\] [^\[\]]+")


@pytest.mark.registry
def test_a_parallel_push_to_a_pipe_writes_one_whole_line_per_blob(open_registry: Any, unique_repo: str,
                                                                 tmp_path: Path) -> None:
    base = write_base(tmp_path / "base", layers=60)
    model = tmp_path / "model"
    (model / "src").mkdir(parents=True)
    (model / "src/func_main.py").write_text("def infer(x):\n    return {'y': x}\n")
    (model / "serving.yaml").write_text(SERVING)
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # the pipe alone makes the output plain
    out = subprocess.run(
        [sys.executable, "-c", RUN_CLI, "build", str(model), "--image", f"{open_registry.host}/{unique_repo}",
         "--version", "1.0.0", "--builder", "oci", "--base-from", base, "--push", "--json"],
        capture_output=True, text=True, env={**env, "SOURCE_DATE_EPOCH": "1700000000"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert [line for line in lines if not ANY_LINE.fullmatch(line)] == []
    pushed = [m.group(1) for line in lines if (m := PUSH_LINE.fullmatch(line))]
    # 60 base layers, the model's code and contract layers, the config: one line each.
    assert len(pushed) == len(set(pushed)) == 60 + 2 + 1


def test_plain_lines_from_many_threads_arrive_whole_through_a_pipe() -> None:
    from hydro_ci.cli.progress import PlainLines

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w", buffering=1) as stream, os.fdopen(read_end) as reader:
        got: list[str] = []
        drain = threading.Thread(target=lambda: got.extend(reader))
        drain.start()
        show = PlainLines(stream)
        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            workers = [threading.Thread(target=lambda n=n: [  # type: ignore[misc]
                show(ProgressEvent("push", f"{n:02d}-{i:04d}: uploaded ({i:,} bytes)")) for i in range(300)])
                for n in range(8)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        finally:
            sys.setswitchinterval(old)
        stream.close()
        drain.join()
    assert len(got) == 8 * 300
    assert all(re.fullmatch(r"\[push\] \d\d-\d{4}: uploaded \([\d,]+ bytes\)\n", line) for line in got)


def test_a_message_with_a_line_break_is_still_one_line() -> None:
    from hydro_ci.cli.progress import PlainLines

    stream = io.StringIO()
    PlainLines(stream)(ProgressEvent("build", "Step 3/4 : RUN a\nb"))
    assert stream.getvalue() == "[build] Step 3/4 : RUN a b\n"


def test_the_live_display_sums_parallel_uploads_in_one_status_line() -> None:
    from rich.console import Console

    from hydro_ci.cli.progress import LiveDisplay

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200, highlight=False)
    with console.status("starting…") as status:
        live = LiveDisplay(console, status, stage_event="stage")

        def upload(n: int) -> None:
            digest = f"sha256:{n:064x}"
            for sent in (0, 500, 1000):
                live(ProgressEvent("push", f"{n}: uploading", sent, 1000, digest))
            live(ProgressEvent("push", f"{n}: uploaded (1,000 bytes)", id=digest))

        workers = [threading.Thread(target=upload, args=(n,)) for n in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert str(status.status).startswith("push: 6 blobs, 6,000 of 6,000 bytes sent")
        live(ProgressEvent("build", "3 layers [weights]", id="stage"))
    # The stage result stays on screen, its [bracket] as written.
    assert "build    3 layers [weights]" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
