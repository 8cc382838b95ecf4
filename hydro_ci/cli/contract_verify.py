"""hydro-ci contract verify MODEL_DIR: run the model once, for real, and check it keeps its contract.

Loads the model with its own framework (TensorFlow, Keras, onnxruntime, torch, scikit-learn, or the
python runtime's func_main), feeds one batch made from the contract (declared, else inferred) and
checks each output's dtype and shape. Opt-in: it imports frameworks and, for pickles and python
code, runs the model's code. A missing framework exits 2 naming the pip extra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hydro_ci.cli.model_dir import add_model_option
from hydro_ci.errors import UsageError
from hydro_ci.folder import is_model_folder
from hydro_ci.infer import infer_folder, model_file_roots
from hydro_ci.infer.check import load_model_folder
from hydro_ci.infer.verify import verify_folder


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="model folder")
    add_model_option(parser)
    parser.add_argument("--signature", metavar="NAME", help="signature to verify (default: the primary)")


def run(args: argparse.Namespace) -> int:


    root = Path(args.model_dir)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder" if root.exists() else f"no such file or directory: {root}",
                         hint="give the model folder")
    folder = load_model_folder(root, model=args.model) if is_model_folder(root) else None
    if folder is None and args.model is not None:
        raise UsageError(f"--model {args.model}: {root} is not a model folder (no serving.yaml)")
    within = model_file_roots(folder) if folder is not None else None
    contract = folder.contract if folder is not None and folder.contract is not None else None
    origin = "declared"
    if contract is None:
        contract, origin = infer_folder(root, within=within).contract, "inferred"
    sig = contract.primary
    if args.signature:
        found = contract.signature(args.signature)
        if found is None:
            raise UsageError(f"{root}: the {origin} contract has no signature {args.signature!r}")
        sig = found
    problems = verify_folder(root, sig, within=within)
    for p in problems:
        print(p.render())
    verdict = "ok" if not problems else f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    print(f"{root}: signature {sig.name!r} ({origin}) verified with the model: {verdict}", file=sys.stderr)
    return 1 if problems else 0
