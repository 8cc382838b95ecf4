"""``hydro-ci contract check [PATH ...]``: validate model folders, one line per problem.

Exit 0 when clean, 1 with problems, 2 on usage errors (a PATH that does not exist). Every Model
document of a folder is checked; ``--format json`` also lists them (``models``: folder and name).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hydro_ci.cli import output
from hydro_ci.contract.serving import sort_problems
from hydro_ci.diagnostics import Location, Problem
from hydro_ci.errors import UsageError
from hydro_ci.folder import display_path, find_model_folders, not_a_model_folder
from hydro_ci.infer.check import read_model_folder


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", default=["."], metavar="PATH",
        help="model folders, files inside them, or folders to search for them (default: .)",
    )
    output.add_problem_format(parser)


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or directory: {missing[0]}")
    problems: list[Problem] = []
    folders: dict[str, Path] = {}  # deduplicated: the pre-commit hook passes each changed file
    for path in args.paths:
        found = find_model_folders(Path(path))
        if not found:
            here = Path(path) if Path(path).is_dir() else Path(path).parent
            why = not_a_model_folder(here, "no model folder here (no serving.yaml or contract.prototxt)")
            problems.append(Problem(Location(display_path(Path(path))), why, "no-model-folder"))
        for folder in found:
            folders.setdefault(os.path.realpath(folder), folder)
    models: list[dict[str, str]] = []  # every Model of every folder: one image each
    for folder in folders.values():
        read = read_model_folder(folder, build=True)  # also: no contract to build with
        problems += read.problems
        models += [{"folder": display_path(folder), "name": name} for name in read.names]
    problems = sort_problems(problems)  # the same output whatever order the paths came in
    fmt = output.problem_format(args.format)
    shown = sorted(display_path(f) for f in folders.values())
    models.sort(key=lambda m: m["folder"])
    output.print_problems(problems, fmt, extra={"folders": shown, "models": models})
    if fmt == "text":
        errors = sum(p.is_error for p in problems)
        warnings = len(problems) - errors
        noun = "folder" if len(shown) == 1 else "folders"
        several = f" ({len(models)} Models)" if len(models) > len(shown) else ""
        summary = (f"{len(shown)} model {noun}{several} checked, "
                   f"{errors} problem{'s' if errors != 1 else ''}")
        if warnings:
            summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
        output.print_summary(summary)
    return 1 if any(p.is_error for p in problems) else 0
