"""``hydro-ci contract show MODEL_DIR --format json|yaml|prototxt``: print the declared contract."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hydro_ci.cli import output
from hydro_ci.cli.model_dir import add_model_option
from hydro_ci.contract import formats, jsonform
from hydro_ci.errors import ContractError, ProblemsError, UsageError
from hydro_ci.infer.check import load_model_folder


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder (or a file inside it)")
    add_model_option(parser)
    parser.add_argument("--format", choices=("json", "yaml", "prototxt"), default="json",
                        help="json (default), yaml (a serving.yaml contract: section) or prototxt")


def run(args: argparse.Namespace) -> int:
    if not os.path.lexists(args.model_dir):
        raise UsageError(f"no such file or directory: {args.model_dir}")
    try:
        folder = load_model_folder(Path(args.model_dir), model=args.model)
    except ProblemsError as exc:
        output.print_problems(exc.problems, "text", stream=sys.stderr)
        return 1
    if folder.contract is None:
        raise ContractError(
            f"{args.model_dir} declares no contract",
            hint="add contract: to serving.yaml or a contract.prototxt (or run hydro-ci contract infer)",
        )
    if args.format == "json":
        output.print_json(jsonform.contract_to_dict(folder.contract))
    elif args.format == "yaml":
        sys.stdout.write(formats.to_yaml(folder.contract.primary))
    else:
        sys.stdout.write(formats.to_prototxt(folder.contract.primary))
    return 0
