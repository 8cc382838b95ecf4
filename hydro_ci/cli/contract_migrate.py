"""``hydro-ci contract migrate MODEL_DIR [--write] [--runtime REF]``: an older Hydrosphere folder
(hs 0.1.x, 0.0.x, a v1/v2 contract.prototxt) rewritten to today's format; the diff is printed, and
the files are written only with --write."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hydro_ci.cli import output
from hydro_ci.contract.migrate import migrate_folder, write_migration
from hydro_ci.errors import ProblemsError, UsageError
from hydro_ci.infer.check import folder_rules


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder (or a file inside it)")
    parser.add_argument("--write", action="store_true", help="write the migrated files (default: print "
                        "the diff only)")
    parser.add_argument("--runtime", metavar="REF", help="the runtime image to write (hs 0.x chose it from "
                        "the model type)")


def run(args: argparse.Namespace) -> int:
    if not os.path.lexists(args.model_dir):
        raise UsageError(f"no such file or directory: {args.model_dir}")
    try:
        migration = migrate_folder(Path(args.model_dir), folder_rules(), runtime=args.runtime)
    except ProblemsError as exc:
        output.print_problems(exc.problems, "text", stream=sys.stderr)
        return 1
    if not migration.changes:
        print(f"{args.model_dir} is in today's format already: nothing to migrate", file=sys.stderr)
        return 0
    sys.stdout.write(migration.diff())
    for note in migration.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.write:
        for path in write_migration(migration):
            print(f"wrote {path}", file=sys.stderr)
    else:
        print("(nothing written: add --write to save the migrated files)", file=sys.stderr)
    return 0
