"""The MODEL_DIR argument every verb that builds on one model takes, said one way: the folder
must exist, and ``--model NAME`` picks a Model document of its serving file when it holds several.

Import-light (the standard library and ``errors``): ``contract show`` and ``version next`` use it too.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hydro_ci.errors import UsageError


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """``--model NAME``: which Model document of MODEL_DIR's serving file (needed only with several)."""
    parser.add_argument("--model", metavar="NAME",
                        help="the Model document to use (its name:) when MODEL_DIR's serving.yaml holds "
                             "several; a folder of one needs none")


def check_model_dir(path: Path) -> None:
    """A MODEL_DIR that is missing or not a folder is a usage error (exit 2), said as every verb says it."""
    if not os.path.lexists(path):
        raise UsageError(f"no such file or directory: {path}")
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder", hint="give the model folder")
