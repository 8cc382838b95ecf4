"""hydro-ci contract infer MODEL_DIR: the contract read from the model files, no framework imported.

Prints the JSON form of the contract plus ``"framework"`` (default), the serving.yaml ``contract:``
section (``--format yaml``) or ``contract.prototxt`` (``--format prototxt``); ``--write`` writes
MODEL_DIR/contract.prototxt (the primary signature) instead of printing; an existing one that says
something else (perhaps edited by hand: profiles, comments) is replaced only with ``--force``.
``--write`` refuses (even with ``--force``) when serving.yaml declares a ``contract:``: a second
declaration would only disagree with it, and ``--force`` is about replacing contract.prototxt.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hydro_ci.cli.model_dir import add_model_option
from hydro_ci.contract import formats
from hydro_ci.contract.jsonform import contract_to_dict
from hydro_ci.contract.serving import read_folder, serving_contract_key
from hydro_ci.errors import HydroCIError, ProblemsError, UsageError
from hydro_ci.folder import PROTOTXT_FILE, is_model_folder
from hydro_ci.infer import hydrosphere_name_note, infer_folder, model_file_roots
from hydro_ci.output_files import write_file


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="model folder (or one model file)")
    add_model_option(parser)
    parser.add_argument("--format", choices=("json", "yaml", "prototxt"), default="json",
                        help="output format (default: json)")
    parser.add_argument("--signature", metavar="NAME",
                        help="the signature to put first (the one an image serves)")
    parser.add_argument("--write", action="store_true",
                        help="write MODEL_DIR/contract.prototxt instead of printing")
    parser.add_argument("--force", action="store_true",
                        help="with --write: replace a contract.prototxt that differs from the inferred one "
                             "(never a contract: declared in serving.yaml)")


def run(args: argparse.Namespace) -> int:
    root = Path(args.model_dir)
    if args.force and not args.write:
        raise UsageError("--force only goes with --write (it replaces a differing contract.prototxt)",
                         hint="add --write, or drop --force to print the contract")
    if not os.path.lexists(root):  # a usage error (exit 2), as in the other verbs
        raise UsageError(f"no such file or directory: {root}")
    within = _model_files(root, args.model)
    if args.write:
        _check_writable_here(root)
        if within is not None:
            raise UsageError(f"{root}: --write would make {PROTOTXT_FILE} the contract of every Model of the "
                             "folder; print this one's (--format yaml) into its contract: section")
    result = infer_folder(root, signature=args.signature, within=within)
    notes = list(result.notes)
    name_note = hydrosphere_name_note(result)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.write:
        target = root / PROTOTXT_FILE
        text = formats.to_prototxt(result.contract.primary)
        if _current_text(target) == text:
            print(f"{target} already holds the inferred contract", file=sys.stderr)
            return 0
        if os.path.lexists(target) and not target.is_dir() and not args.force:  # a dir: cannot write
            raise HydroCIError(f"{target} exists and differs from the contract inferred from {result.source}",
                               hint="compare with: hydro-ci contract infer --format prototxt; "
                                    "replace it with --write --force")
        _write_replacing(target, text)
        print(f"wrote {target} (signature {result.contract.primary.name!r} from {result.source})",
              file=sys.stderr)
        if name_note:
            print(f"note: {name_note}", file=sys.stderr)
        return 0
    if args.format in ("prototxt", "yaml"):
        write = formats.to_prototxt if args.format == "prototxt" else formats.to_yaml
        sys.stdout.write(write(result.contract.primary))
    else:
        data = contract_to_dict(result.contract)
        data["framework"] = result.framework
        for sig in data["signatures"]:  # a value that is not a plain tensor says what it is
            for side in ("inputs", "outputs"):
                for f in sig[side]:
                    kind = result.kinds.get((sig["name"], side, f["name"]))
                    if kind is not None:
                        f["kind"] = kind
        print(json.dumps(data, indent=2))
    if name_note:
        print(f"note: {name_note}", file=sys.stderr)
    return 0


def _model_files(root: Path, model: str | None) -> list[Path] | None:
    """Where the model files of ``model`` are, when MODEL_DIR's serving file holds several Models (its
    payload: the folder holds the others' files too); None: the whole folder (or the one file)."""
    if not root.is_dir() or not is_model_folder(root):
        if model is not None:
            raise UsageError(f"--model {model}: {root} is not a model folder (no serving.yaml)")
        return None
    read = read_folder(root, ())  # read only: infer works on folders whose declaration is wrong
    if not read.models:
        if model is not None:
            raise ProblemsError(read.problems)
        return None  # the serving file does not read: the model files still do
    declared, _ = read.select(model)
    assert declared is not None
    return model_file_roots(declared.model_folder())


def _check_writable_here(root: Path) -> None:
    """--write needs a folder whose serving.yaml does not declare the contract already: a second
    declaration in contract.prototxt would win over it and, once either changes, contradict it."""
    if not root.is_dir():
        raise UsageError(f"{root}: --write needs a model folder, not a file")
    declared = serving_contract_key(root)
    if declared is not None:
        raise HydroCIError(
            f"{declared.render()}: the contract is already declared here; --write would add a second "
            "declaration in contract.prototxt (--force does not change that)",
            hint=f"print it with: hydro-ci contract infer {root} --format yaml, and edit serving.yaml's "
                 "contract: section; or remove that section first, then --write",
        )


def _current_text(target: Path) -> str | None:
    """The file's text when it is a regular file (not a link) we can read, else None."""
    try:
        if target.is_symlink() or not target.is_file():
            return None
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write_replacing(target: Path, text: str) -> None:
    """Write ``target`` through a temporary file and a rename: a symlink there is replaced, never
    followed (it could point out of the folder), and a failed write leaves the old file intact."""
    try:
        if target.is_dir():
            raise IsADirectoryError(21, "is a directory")
        write_file(target, text, within=target.parent, replace_link=True)
    except OSError as exc:
        raise HydroCIError(f"{target}: cannot write ({exc.strerror or exc})",
                           hint="make the model folder writable, or print the contract "
                                "(--format prototxt) and save it yourself") from None
