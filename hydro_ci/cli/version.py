"""hydro-ci version next MODEL_DIR: the next semantic version, why, and its tag set.

Plain output: the version alone on stdout (``V=$(hydro-ci version next .)``), the explanation on
stderr. ``--json``: everything on stdout. ``--reserve`` pushes the git tag so no other pipeline can
take the version (see docs/versioning.md for the guarantee).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hydro_ci.version.decision import Decision


def configure(parser: argparse.ArgumentParser) -> None:
    from hydro_ci.cli.build import add_credential_options

    parser.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder")
    parser.add_argument("--source", choices=("git", "registry", "both"), default="git",
                        help="where released versions are listed (default: git)")
    parser.add_argument("--bump", choices=("auto", "major", "minor", "patch"), default="auto",
                        help="auto: from the contract diff against the previous version (default)")
    parser.add_argument("--image", metavar="REPO",
                        help="image repository REGISTRY/NAME (registry/both; default hydro-ci.image)")
    parser.add_argument("--branch", help="branch being built (default: CI variables, else git)")
    parser.add_argument("--remote", help="git remote holding the tags (default: origin, if there is one)")
    parser.add_argument("--reserve", action="store_true",
                        help="push the version's git tag so that no other pipeline can take it")
    add_credential_options(parser)  # also --insecure
    parser.add_argument("--json", action="store_true", help="print the whole decision as JSON")


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from hydro_ci.errors import UsageError

    if not os.path.lexists(args.model_dir):
        raise UsageError(f"no such file or directory: {args.model_dir}")
    if args.reserve and args.source == "registry":
        raise UsageError("--reserve needs --source git or both: the registry has no atomic create",
                         hint="version from git tags (docs/versioning.md explains the guarantee)")
    from hydro_ci.cli.build import read_credentials
    from hydro_ci.infer.check import load_model_folder
    from hydro_ci.version.decision import context_for, decide

    credentials = read_credentials(args)
    folder = load_model_folder(Path(args.model_dir))
    remote = args.remote or "origin"
    ctx = context_for(folder, source=args.source, bump=args.bump, image=args.image, branch=args.branch,
                      remote=remote, username=credentials.username if credentials else None,
                      password=credentials.password if credentials else None, insecure=args.insecure)
    if args.remote is not None and ctx.repo is not None:
        from hydro_ci import git

        if not git.has_remote(ctx.repo, args.remote):  # a typo must not skip the missing-tags check
            raise UsageError(f"--remote {args.remote}: no such remote in {ctx.repo}",
                             hint="git remote -v lists them")
    if args.reserve:
        from hydro_ci.version.reserve import reserve

        if ctx.repo is None:
            raise UsageError("--reserve needs the model folder inside a git clone")
        decision = reserve(lambda: decide(ctx), ctx.repo, remote=remote)
    else:
        decision = decide(ctx)
    if args.json:
        print(json.dumps(decision.to_dict(), indent=2))
    else:
        print(decision.version)
        explain(decision)
    return 0


def explain(d: Decision) -> None:
    err = sys.stderr
    prev = f"{d.previous.version} ({d.previous.source}: {d.previous.ref})" if d.previous else "none"
    print(f"model {d.model}: previous version {prev}", file=err)
    for listing in d.listings:
        print(f"  {listing.source}: {len(listing.releases)} versions, {len(listing.skipped)} skipped, "
              f"{listing.ignored} other tags", file=err)
    for dis in d.disagreements:
        print(f"  disagreement: {dis.version} only in {dis.only_in}: {dis.meaning}", file=err)
    if d.diff is not None:
        for change in d.diff.changes:
            print(f"  {change.render()}", file=err)
    print(f"bump {d.bump.value}: {d.bump_reason}", file=err)
    print(f"next {d.version} ({d.full_version})" + (" reserved as git tag " + str(d.git_tag)
                                                     if d.reserved else ""), file=err)
    print("tags: " + " ".join(t.name for t in d.tags), file=err)
    for note in d.notes:
        print(f"note: {note}", file=err)
