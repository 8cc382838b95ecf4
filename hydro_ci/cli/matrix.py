"""hydro-ci matrix [--since REF] [PATHS…]: changed models as a GitHub Actions matrix (JSON), one entry
per Model document (``model``: its folder, ``name``: its name)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from hydro_ci.integrations.github import write_outputs
from hydro_ci.matrix import changed_models, github_matrix


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="where to look for model folders (default: the whole repository)")
    parser.add_argument("--since", metavar="REF",
                        help="only folders changed since the merge base with REF (e.g. origin/main)")
    parser.add_argument("--format", choices=("json", "lines", "github"), default="json",
                        help="json: {\"include\": [...]} on one line, one entry per Model (default); lines: "
                             "one folder per line; github: also write matrix= and count= to $GITHUB_OUTPUT")


def run(args: argparse.Namespace) -> int:
    entries = changed_models(Path.cwd(), args.since, args.paths)
    if args.format == "lines":
        for path in dict.fromkeys(e.path for e in entries):  # a folder of several Models: once
            print(path)
        return 0
    text = json.dumps(github_matrix(entries), separators=(",", ":"))
    print(text)
    if args.format == "github" and os.environ.get("GITHUB_OUTPUT"):
        write_outputs({"matrix": text, "count": str(len(entries))}, Path(os.environ["GITHUB_OUTPUT"]))
    return 0
