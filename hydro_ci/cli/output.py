"""How CLI verbs print: problems as text, JSON or GitHub annotations, and JSON documents.

Small and import-light on purpose (no rich): ``hydro-ci contract check`` starts through here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from hydro_ci.diagnostics import Problem
from hydro_ci.integrations.github import annotation as github_annotation
from hydro_ci.integrations.github import in_github_actions, write_command

PROBLEM_FORMATS = ("text", "json", "github")


def add_problem_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=PROBLEM_FORMATS, default=None,
        help="how to print problems (default: github when GITHUB_ACTIONS=true, else text)",
    )


def problem_format(requested: str | None) -> str:
    """The requested format, else GitHub annotations inside GitHub Actions, else text."""
    if requested:
        return requested
    return "github" if in_github_actions(os.environ) else "text"


def problem_to_dict(p: Problem) -> dict[str, Any]:
    return {
        "path": p.location.path,
        "line": p.location.line or None,
        "column": p.location.column or None,
        "severity": p.severity.value,
        "rule": p.rule,
        "message": p.message,
    }


def print_problems(problems: Iterable[Problem], fmt: str, *, stream: TextIO | None = None,
                   extra: dict[str, Any] | None = None) -> None:
    """Print ``problems`` one per line (text, github) or as one JSON document with ``extra`` keys."""
    out = stream or sys.stdout
    if fmt == "json":
        print_json({**(extra or {}), "problems": [problem_to_dict(p) for p in problems]}, stream=out)
        return
    for p in problems:
        if fmt == "github":
            write_command(out, github_annotation(p))
        else:
            out.write(p.render() + "\n")


def print_json(data: Any, *, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def print_summary(text: str) -> None:
    """A closing line for people (stderr, so piped output stays machine-readable)."""
    sys.stderr.write(text + "\n")
