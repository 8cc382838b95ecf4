"""hydro-ci contract breaking [FILES…]: fail on a breaking contract change against a git ref.

The ``hydro-ci-contract-breaking`` pre-commit hook. FILES are changed files (pre-commit passes
them); each one's model folder is diffed against ``--against`` (default ``$PRE_COMMIT_FROM_REF``,
else ``HEAD``). Exit 1 when a folder breaks its contract without saying it is intended.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help="changed files or model folders (default: .)")
    parser.add_argument("--against", metavar="REF",
                        help="git ref holding the old contracts (default: $PRE_COMMIT_FROM_REF, else HEAD)")
    parser.add_argument("--format", choices=("text", "json", "github"), default=None,
                        help="github: ::error annotations (default when GITHUB_ACTIONS=true)")


def run(args: argparse.Namespace) -> int:
    from hydro_ci.integrations.breaking import check_folder, default_ref, model_folders, problems, shown

    fmt = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    against = args.against or default_ref()
    verdicts = [check_folder(folder, against) for folder in model_folders(args.files or [Path(".")])]
    found = problems(verdicts)
    if fmt == "json":
        print(json.dumps([{"folder": str(v.folder), "against": v.against, "summary": v.summary,
                           "intended": v.intended, "fails": v.fails, "changes": list(v.changes)}
                          for v in verdicts], indent=2))
    else:
        for v in verdicts:
            if v.summary == "breaking":
                for c in v.changes:
                    print(f"{shown(v.folder)}: {c['class']:<8} {c['path']}: {c['message']} [{c['rule']}]")
        if fmt == "github":
            from hydro_ci.integrations.github import annotate

            for line in annotate(found):
                print(line)
        else:
            for p in found:
                print(p.render())
    return 1 if any(v.fails for v in verdicts) else 0
