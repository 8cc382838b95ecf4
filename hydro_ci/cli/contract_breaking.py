"""hydro-ci contract breaking [FILES…]: fail on a breaking contract change against a git ref.

The ``hydro-ci-contract-breaking`` pre-commit hook. FILES are changed files (pre-commit passes
them); each one's model folder is diffed against ``--against`` (default ``$PRE_COMMIT_FROM_REF``,
else ``HEAD``). Exit 1 when a folder breaks its contract without saying it is intended.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hydro_ci import git
from hydro_ci.cli import output
from hydro_ci.errors import UsageError
from hydro_ci.integrations.breaking import check_folder, default_ref, model_folders, problems, shown
from hydro_ci.integrations.github import annotate, write_command
from hydro_ci.version.contracts import is_git_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help="changed files or model folders (default: .)")
    parser.add_argument("--against", metavar="REF",
                        help="git ref holding the old contracts (default: $PRE_COMMIT_FROM_REF, else HEAD)")
    output.add_problem_format(parser)


def run(args: argparse.Namespace) -> int:
    fmt = output.problem_format(args.format)
    against = args.against or default_ref()
    cwd = Path.cwd()
    # A ref that does not resolve would make every folder look new, so nothing could ever fail;
    # only HEAD of a repository without commits yet (the first commit) legitimately has nothing.
    if git.is_work_tree(cwd) and not is_git_ref(cwd, against) \
            and not (against == "HEAD" and git.head_commit(cwd) is None):
        raise UsageError(f"--against {against}: not a commit, branch or tag of this repository",
                         hint="check the name (git log, git tag -l), or fetch it: git fetch")
    folders = model_folders(args.files or [Path(".")])
    verdicts = [v for folder in folders for v in check_folder(folder, against)]  # one per Model
    found = problems(verdicts)
    if fmt == "json":
        print(json.dumps([{"folder": str(v.folder), "model": v.model, "against": v.against,
                           "summary": v.summary, "intended": v.intended, "fails": v.fails,
                           "changes": list(v.changes)}
                          for v in verdicts], indent=2))
    else:
        for v in verdicts:
            if v.summary == "breaking":
                of = f" ({v.model})" if v.model else ""
                for c in v.changes:
                    print(f"{shown(v.folder)}{of}: {c['class']:<8} {c['path']}: {c['message']} [{c['rule']}]")
        if fmt == "github":
            for line in annotate(found):
                write_command(sys.stdout, line)
        else:
            for p in found:
                print(p.render())
    return 1 if any(v.fails for v in verdicts) else 0
