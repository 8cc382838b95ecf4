"""GitHub Actions: workflow-command annotations, step outputs and the job summary.

Files and formats are GitHub's: ``$GITHUB_OUTPUT`` takes ``name=value`` lines (a multi-line value
uses a random heredoc delimiter), ``$GITHUB_STEP_SUMMARY`` takes Markdown, and ``::error
file=…,line=…,col=…::message`` lines on stdout become annotations on the pull request's files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydro_ci.diagnostics import Problem

if TYPE_CHECKING:
    from hydro_ci.pipeline import PipelineState


def in_github_actions(env: Mapping[str, str]) -> bool:
    """Whether we run as a GitHub Actions step: then GitHub's formats are the default output."""
    return env.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


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


def outputs(summary: Mapping[str, Any]) -> dict[str, str]:
    """The Action's outputs, from summary.json."""
    bump = summary.get("bump") or {}
    attested = summary.get("attest") or {}
    return {
        "version": str(summary.get("version") or ""),
        "image": str(summary.get("image") or ""),
        "digest": str(summary.get("digest") or ""),
        "tags": json.dumps(summary.get("tags") or []),
        "refs": json.dumps(summary.get("refs") or []),
        "bump": str(bump.get("kind") or ""),
        "plan": str(summary.get("plan") or ""),
        "summary": f"{summary['output']}/summary.json" if summary.get("output") else "",
        "layout": str(summary.get("layout") or ""),
        "archive": str(summary.get("archive") or ""),
        # kind → digest of each attestation attached as a referrer; the signature manifest's digest
        "referrers": json.dumps({r["kind"]: r["digest"] for r in attested.get("referrers") or []}),
        "signature": str((attested.get("signature") or {}).get("digest") or ""),
    }


def write_outputs(values: Mapping[str, str], path: Path) -> None:
    import uuid  # only here: `contract check` imports this module for annotations and starts fast

    with path.open("a", encoding="utf-8") as fh:
        for name, value in values.items():
            if "\n" in value:
                delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
                fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                fh.write(f"{name}={value}\n")


def publish(state: PipelineState, env: Mapping[str, str]) -> None:
    """Step outputs and job summary, when the runner provides the files."""
    from hydro_ci.pipeline import state as files
    from hydro_ci.pipeline.summary import write_step_summary

    if state.summary is None:
        return
    if env.get("GITHUB_OUTPUT"):
        write_outputs(outputs(state.summary), Path(env["GITHUB_OUTPUT"]))
    if env.get("GITHUB_STEP_SUMMARY"):
        write_step_summary(state.path(files.SUMMARY_MD).read_text(encoding="utf-8"),
                           Path(env["GITHUB_STEP_SUMMARY"]))
