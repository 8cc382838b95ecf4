"""hydro-ci contract diff OLD NEW: every contract change with its rule, class and reason.

OLD and NEW are each a model folder, a contract file (serving.yaml, contract.prototxt, .json),
``GIT_REF:path`` (read with git show, no checkout) or an image reference (its contract label).
Like ``buf breaking`` the report is the product: exit 0 whatever it finds, unless ``--fail-on``
names a class (breaking, additive) that then exits 1 when the summary reaches it.
Rule settings come from NEW's serving.yaml (``hydro-ci: diff:``) when NEW is a folder, or --config.
``--model NAME`` picks the Model document of a serving file of several, in OLD and NEW alike.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hydro_ci.cli.registry_options import add_credential_options, keychain
from hydro_ci.contract.diff import RULES, ChangeClass, DiffConfig, diff_contracts
from hydro_ci.diagnostics import did_you_mean
from hydro_ci.errors import UsageError
from hydro_ci.infer.check import load_model_folder
from hydro_ci.version.contracts import load_contract


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="folder, contract file, GIT_REF:path or image")
    parser.add_argument("new", metavar="NEW", help="folder, contract file, GIT_REF:path or image")
    parser.add_argument("--model", metavar="NAME",
                        help="the Model document to compare, in OLD and NEW alike (paired by name), when a "
                             "serving file holds several")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--fail-on", choices=("breaking", "additive"),
                        help="exit 1 when the summary is at least this class (default: always exit 0)")
    parser.add_argument("--ignore", action="append", default=[], metavar="RULE",
                        help="ignore a rule (repeatable; adds to hydro-ci.diff.ignore)")
    parser.add_argument("--renames-by-position", action="store_true", default=None,
                        help="pair a removed and an added field at the same index as a rename")
    add_credential_options(parser)  # also --insecure


def run(args: argparse.Namespace) -> int:
    for rule in args.ignore:  # checked here: DiffConfig would blame serving.yaml for a flag's typo
        if rule not in RULES:
            raise UsageError(f"--ignore {rule}: unknown rule{did_you_mean(rule, RULES)}",
                             hint="rule ids are listed in docs/versioning.md")
    registries = keychain(args, None)  # given credentials: for the registries OLD and NEW name
    old, old_from = load_contract(args.old, keychain=registries, insecure=args.insecure, model=args.model)
    new, new_from = load_contract(args.new, keychain=registries, insecure=args.insecure, model=args.model)
    config = DiffConfig()
    if Path(args.new).is_dir():
        config = DiffConfig.from_config(load_model_folder(Path(args.new), model=args.model).config)
    config = DiffConfig.from_config({"diff": {
        "ignore": sorted(config.ignore | set(args.ignore)),
        "renames-by-position": (config.renames_by_position if args.renames_by_position is None
                                else args.renames_by_position)}})
    result = diff_contracts(old, new, config)
    if args.format == "json":
        # the step the class asks for; a version decision says the step taken (0.x rule)
        print(json.dumps({"old": old_from, "new": new_from, **result.to_dict(),
                          "bump": result.summary.bump}, indent=2))
    else:
        for change in result.changes:
            print(change.render())
        for change in result.ignored:
            print(f"ignored   {change.path}: {change.message} [{change.rule}]")
        print(f"summary: {result.summary.name} ({result.summary.bump} bump), {len(result.changes)} "
              f"change(s) from {old_from} to {new_from}")
    if args.fail_on and result.summary >= ChangeClass[args.fail_on]:
        return 1
    return 0
