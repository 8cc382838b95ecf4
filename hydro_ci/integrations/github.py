"""GitHub Actions: workflow-command annotations, step outputs and the job summary.

Files and formats are GitHub's: ``$GITHUB_OUTPUT`` takes ``name<<DELIMITER`` heredocs with a
random delimiter, ``$GITHUB_STEP_SUMMARY`` takes Markdown, and ``::error
file=…,line=…,col=…::message`` lines on stdout become annotations on the pull request's files.

The runner reads every line a step prints: one starting with ``::`` (after blanks), or holding
``##[`` anywhere (the legacy syntax), is a command — ``::stop-commands::``, ``::add-mask::``,
``::error::``… A model folder's names reach our output (a field name with a newline in it, a
folder called ``::warning::x``), so under ``GITHUB_ACTIONS=true`` the CLI writes through
``CommandSafeStream``: every line it did not mean as a command is defused, whatever printed it;
the annotations it does mean go through ``write_command`` with their values escaped.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hydro_ci.diagnostics import Problem

if TYPE_CHECKING:  # `contract check` imports this module for annotations: it must stay light
    from hydro_ci.pipeline import PipelineState
    from hydro_ci.pipeline.records import Summary


def in_github_actions(env: Mapping[str, str]) -> bool:
    """Whether we run as a GitHub Actions step: then GitHub's formats are the default output."""
    return env.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """A command's message, as GitHub's toolkit escapes it: no line break can end the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value (``file=…``): also no ``:`` or ``,`` that would end it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_escape_data, _escape_property = escape_data, escape_property
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the runner splits lines on each of these


def defuse(line: str) -> str:
    """A log line the runner will not read as a workflow command: a leading ``::`` becomes
    ``%3A:`` and ``##[`` becomes ``%23#[`` (GitHub's own percent escapes, readable in the log)."""
    stripped = line.lstrip()
    if stripped.startswith("::"):
        at = len(line) - len(stripped)
        line = line[:at] + "%3A" + line[at + 1:]
    return line.replace("##[", "%23#[")


class CommandSafeStream(io.TextIOBase):
    """A text stream that passes whole lines on, each defused (see ``defuse``), except what is
    written with ``write_command``. A partial line is held until its line break (or ``close``),
    as only a whole line can be judged."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        parts = _LINE_BREAK.split(self._pending)
        breaks = _LINE_BREAK.findall(self._pending)
        self._pending = parts.pop()
        if breaks:
            self.inner.write("".join(defuse(line) + brk for line, brk in zip(parts, breaks, strict=True)))
        return len(text)

    def write_command(self, line: str) -> None:
        """One workflow command we mean (its values already escaped), on a line of its own."""
        if self._pending:
            self._release()
            self.inner.write("\n")  # ends the partial line, so nothing can continue it
        self.inner.write(line.replace("\r", " ").replace("\n", " ") + "\n")

    def _release(self) -> None:
        self.inner.write(defuse(self._pending))
        self._pending = ""

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self._release()
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding


def write_command(stream: TextIO, line: str) -> None:
    """Print a workflow command we mean; through a ``CommandSafeStream`` it is let pass."""
    if isinstance(stream, CommandSafeStream):
        stream.write_command(line)
    else:
        stream.write(line + "\n")


@contextmanager
def command_safe_output(env: Mapping[str, str]) -> Iterator[None]:
    """Under GitHub Actions, sys.stdout and sys.stderr defuse every line (see the module docstring)."""
    if not in_github_actions(env) or isinstance(sys.stdout, CommandSafeStream):
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = CommandSafeStream(saved[0]), CommandSafeStream(saved[1])
    try:
        yield
    finally:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = saved
        for stream in (out, err):
            if isinstance(stream, CommandSafeStream):
                stream.close()


def annotation(problem: Problem) -> str:
    """A workflow command GitHub shows on the line: ``::error file=…,line=…,col=…,title=rule::msg``."""
    loc = problem.location
    props = [f"file={_escape_property(loc.path)}"]
    if loc.line:
        props.append(f"line={loc.line}")
        props.append(f"col={loc.column or 1}")
    props.append(f"title={_escape_property(problem.rule)}")
    return f"::{problem.severity.value} {','.join(props)}::{_escape_data(problem.message)}"


def annotate(problems: Iterable[Problem]) -> list[str]:
    return [annotation(p) for p in problems]


def outputs(summary: Summary) -> dict[str, str]:
    """The Action's outputs, from the run's summary record."""
    v = summary.version
    attested = summary.attest
    referrers = attested.referrers if attested else ()
    signature = attested.signature if attested else None
    return {
        "version": v.version if v else "",
        "image": summary.image or "",
        "digest": summary.digest or "",
        "tags": json.dumps(list(summary.tags)),
        "refs": json.dumps(list(summary.refs)),
        # the bump in its one vocabulary (version.bump): the contract's change class, the step taken
        "change": (v.change or "") if v else "",
        "step": v.step if v else "",
        "released": "true" if summary.released else "false",
        "git-tag": summary.tag.tag if summary.tag else "",
        "plan": summary.plan_file or "",
        "summary": f"{summary.output}/summary.json" if summary.output else "",
        "layout": summary.layout or "",
        "archive": summary.archive or "",
        # kind → digest of each attestation attached as a referrer; the signature manifest's digest
        "referrers": json.dumps({r.kind: r.digest for r in referrers}),
        "signature": signature.digest if signature else "",
    }


def write_outputs(values: Mapping[str, str], path: Path) -> None:
    """Append step outputs to the runner's ``$GITHUB_OUTPUT``: ``name=value``, or, for a value with
    a line break, a heredoc whose random delimiter is in neither name nor value (as actions/toolkit
    does): a value can hold any line, ``name=…`` or a delimiter of its own, and set nothing else."""
    import uuid  # only here: `contract check` imports this module for annotations and starts fast

    with path.open("a", encoding="utf-8") as fh:
        for name, value in values.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                raise ValueError(f"unsafe step output name {name!r}")  # ours: a bug if it fires
            if "\n" not in value and "\r" not in value:
                fh.write(f"{name}={value}\n")
                continue
            delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
            if delimiter in value:
                raise ValueError(f"step output {name!r} holds its own delimiter")  # uuid4: never
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def publish(state: PipelineState, env: Mapping[str, str]) -> None:
    """Step outputs and job summary, when the runner provides the files."""
    # Only the pipeline calls this; importing its summary at the top would slow `contract check`.
    from hydro_ci.pipeline.summary import markdown, write_step_summary

    if state.summary is None:
        return
    if env.get("GITHUB_OUTPUT"):
        write_outputs(outputs(state.summary), Path(env["GITHUB_OUTPUT"]))
    if env.get("GITHUB_STEP_SUMMARY"):
        write_step_summary(markdown(state.summary), Path(env["GITHUB_STEP_SUMMARY"]))
