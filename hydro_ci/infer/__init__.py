"""Contracts read from model files, parsing their bytes: no ML framework is ever imported.

``infer_folder`` reads the most important model file of a folder; ``folder_problems`` compares a
folder's declared contract with that reading and ``undeclared_problem`` says when a folder has no
contract at all: the two halves of ``contract.rules.ModelFiles``, which ``infer.check`` passes to
the contract rules (the full loader every command uses).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hydro_ci.contract.model import Contract, ModelFolder, Signature
from hydro_ci.contract.pairing import Key
from hydro_ci.contract.payload import layout
from hydro_ci.contract.reader import Source
from hydro_ci.contract.rules.signature import check_signature
from hydro_ci.diagnostics import Location, Problem, Severity
from hydro_ci.errors import HydroCIError, ModelFileError, NoModelInFileError
from hydro_ci.folder import PROTOTXT_FILE, SERVING_FILES
from hydro_ci.infer.compare import Locate, compare_signature, signature_problem
from hydro_ci.infer.detect import Format, ModelFile, find_model_files, find_model_files_in, has_python_entry
from hydro_ci.infer.reading import HYDROSPHERE_SIGNATURE, FieldKinds, ModelReading

__all__ = ["InferResult", "folder_contract", "folder_problems", "hydrosphere_name_note", "infer_file",
           "infer_folder", "infer_model", "model_file_roots", "undeclared_problem"]

# Reader of each format: (module, function), imported only when a file of that format is read.
_READERS: dict[Format, tuple[str, str]] = {
    Format.saved_model: ("hydro_ci.infer.savedmodel", "read_saved_model"),
    Format.keras: ("hydro_ci.infer.keras", "read_keras"),
    Format.keras_h5: ("hydro_ci.infer.keras", "read_keras_h5"),
    Format.onnx: ("hydro_ci.infer.onnx", "read_onnx"),
    Format.torch_export: ("hydro_ci.infer.torch_export", "read_torch_export"),
    Format.torchscript: ("hydro_ci.infer.torch_export", "read_torchscript"),
    Format.sklearn: ("hydro_ci.infer.sklearn", "read_sklearn"),
    Format.spark: ("hydro_ci.infer.spark", "read_spark"),
}


@dataclass(frozen=True)
class InferResult:
    contract: Contract
    framework: str
    notes: tuple[str, ...]
    source: Path  # the model file (or Spark pipeline folder) read
    named_signatures: bool = False  # signature names come from the model (TF)
    exact_dtypes: bool = True  # false when the format does not record every dtype (Spark)
    kinds: FieldKinds = field(default_factory=dict)  # fields that are not plain tensors (ONNX)


def infer_file(model: ModelFile) -> ModelReading:
    module, func = _READERS[model.format]
    reader = getattr(importlib.import_module(module), func)
    reading: ModelReading = reader(model.path)
    return reading


def model_file_roots(folder: ModelFolder) -> list[Path] | None:
    """Where the model's files are read from: None for its whole folder; for one of several Models
    of a serving file, what its own payload ships (the folder holds the others' files too, and
    Hydrosphere's manager read a model's files from its payload, /model/files)."""
    if not folder.siblings or not folder.payload:
        return None
    items, _ = layout(folder.root, [(entry, Location(str(folder.root))) for entry in folder.payload])
    return [item.source for item in items]  # a missing or refused entry is the payload rule's finding


def infer_model(folder: ModelFolder, signature: str | None = None) -> InferResult:
    """The contract read from the model files of ``folder``'s model (``model_file_roots``)."""
    return infer_folder(folder.root, signature, within=model_file_roots(folder))


def infer_folder(path: Path, signature: str | None = None, *,
                 within: Sequence[Path] | None = None) -> InferResult:
    """The contract of the model in ``path`` (a model folder or a single model file); ``within``:
    look only there (one model's payload in a folder of several), not in the whole folder."""
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or directory")
    models = find_model_files(path) if within is None else find_model_files_in(within)
    if within is not None and not models:
        raise ModelFileError(f"{path}: no model file in this Model's payload "
                             f"({', '.join(_shown(p, path) for p in within) or 'empty'})",
                             hint="declare the contract in its Model document")
    if not models:
        if has_python_entry(path):
            raise ModelFileError(
                f"{path}: a python runtime model ({path / 'src' / 'func_main.py'}) has no model file to "
                "read; its declared contract is the contract",
                hint="declare the contract in serving.yaml or contract.prototxt",
            )
        raise ModelFileError(
            f"{path}: no model file found (looked for saved_model.pb, *.keras, *.h5, *.onnx, *.pt2, "
            "*.joblib/*.pkl, Spark metadata/)",
            hint="declare the contract in serving.yaml or contract.prototxt",
        )
    # The most important format first; within one, top-level files before nested ones, then by name
    # (Hydrosphere's manager read the first top-level .h5 in directory order, i.e. any of them). A
    # file of weights only (an .h5 without model_config) is passed over when another model follows.
    skipped: list[str] = []
    for index, chosen in enumerate(models):
        try:
            reading = infer_file(chosen)
            break
        except NoModelInFileError:
            if index == len(models) - 1:
                raise
            skipped.append(_shown(chosen.path, path))
    notes = list(reading.notes)
    if skipped:
        notes.append(f"no model in {', '.join(skipped)} (weights only?): read {_shown(chosen.path, path)}")
    others = [_shown(m.path, path) for m in models[index + 1:]] if path.is_dir() else []
    if others:
        notes.append(f"read {chosen.path.name}; also found and ignored: {', '.join(others)}")
    contract = Contract(_contract_name(path), reading.signatures)
    if signature is not None:
        try:
            contract = contract.with_primary(signature)
        except KeyError:
            names = ", ".join(repr(s.name) for s in contract.signatures)
            raise ModelFileError(
                f"{chosen.path}: no signature {signature!r} (signatures: {names})"
            ) from None
    return InferResult(
        contract, chosen.format.framework, tuple(notes), chosen.path,
        named_signatures=reading.named_signatures, exact_dtypes=reading.exact_dtypes,
        kinds=reading.kinds,
    )


def hydrosphere_name_note(result: InferResult) -> str | None:
    """A note when Hydrosphere's manager named this inferred signature otherwise (docs/infer.md)."""
    name = HYDROSPHERE_SIGNATURE.get(result.framework)
    if name is None or result.contract.primary.name == name:
        return None
    return (f"Hydrosphere's manager named the signature it read from a {result.framework} model {name!r}; "
            f"clients of such a deployment call that name: keep it with `hydro-ci: {{signature-name: "
            f"{name}}}` in serving.yaml")


def _shown(model: Path, root: Path) -> str:
    return _rel(model, root) if root.is_dir() else str(model)


def folder_contract(folder: ModelFolder) -> Contract:
    """The contract a folder's image carries: the declared one, else the one read from its model
    files, named after the model (ModelFileError when there is nothing to read)."""
    if folder.contract is not None:
        return folder.contract
    result = infer_model(folder)
    signatures = result.contract.signatures
    setting = folder.config.get("signature-name")
    if isinstance(setting, str) and setting and not result.named_signatures:
        # one unnamed entry point: the name Hydrosphere's manager gave it, say (docs/infer.md)
        signatures = (Signature(setting, signatures[0].inputs, signatures[0].outputs),)
    return Contract(folder.name, signatures)


def _contract_name(path: Path) -> str:
    folder = path if path.is_dir() else path.parent
    return folder.resolve().name or "model"


def folder_problems(folder: ModelFolder, locate: Locate | None = None) -> list[Problem]:
    """Where the folder's declared contract disagrees with its model file.

    ``locate`` maps a key of the declared contract (``("inputs", 0, "dtype")``, ``("outputs",)``,
    ``("signature",)``) to where it is written; without it we search serving.yaml or
    contract.prototxt for the field's line. Nothing to compare (no declared contract, a python
    runtime, no model file) → no problems. A model file we cannot read only warns: the declared
    contract is what gets built.
    """
    if folder.contract is None or not folder.contract.signatures:
        return []
    roots = model_file_roots(folder)
    if folder.is_python_runtime or (roots is None and has_python_entry(folder.root)):
        return []  # func_main.py is the entry point; model files are its private business
    if not (find_model_files(folder.root) if roots is None else find_model_files_in(roots)):
        return []
    declared = folder.contract.primary
    where = locate or _text_locator(_declaration_file(folder.root), declared)
    try:
        result = infer_model(folder)
    except HydroCIError as exc:
        return [Problem(
            where(("signature",)),
            f"cannot check the declared contract against the model: {exc}",
            "model-unreadable",
            Severity.WARNING,
        )]
    model = _rel(result.source, folder.root)
    inferred = result.contract.signature(declared.name)
    if inferred is None:
        if result.named_signatures:
            names = [s.name for s in result.contract.signatures]
            return [signature_problem(declared.name, names, model=model, location=where(("signature",)))]
        inferred = result.contract.primary
    return compare_signature(declared, inferred, model=model, locate=where,
                             exact_dtypes=result.exact_dtypes)


def undeclared_problem(folder: ModelFolder, shown: Path, where: Location) -> Problem | None:
    """For a model that declares no contract: the problem when none can be read from its model
    files either (no model file, a corrupt one, a python runtime), located at ``where``; else None.
    ``shown``: the folder as messages name it."""
    try:
        result = infer_folder(shown, within=model_file_roots(folder))
    except HydroCIError as exc:
        return Problem(
            where,
            f"no contract: none is declared and none can be inferred ({exc}); declare one in a "
            f"contract: section here or in {PROTOTXT_FILE}",
            "no-contract",
        )
    for signature in result.contract.signatures:  # the read contract is the one the image carries
        for problem in check_signature(Source(signature, str(result.source))):
            if problem.rule == "control-character":
                return Problem(where, f"no contract is declared, and the one read from {result.source}: "
                               f"{problem.message}; declare the contract", problem.rule)
    return None


def _declaration_file(root: Path) -> str:
    for name in (PROTOTXT_FILE, *SERVING_FILES):  # contract.prototxt wins when both declare one
        if (root / name).is_file():
            return str(root / name)
    return str(root)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        pass
    try:  # one absolute, one relative to the working directory (a payload entry, the folder shown)
        return str(Path(os.path.abspath(path)).relative_to(os.path.abspath(root)))
    except ValueError:
        return str(path)


def _text_locator(path: str, declared: Signature) -> Locate:
    """Find declared keys by searching the file's lines (used when the caller has no locations)."""
    def locate(key: Key) -> Location:
        section = str(key[0]) if key and key[0] in ("inputs", "outputs") else None
        if section is None:
            return _find_line(path, "signature_name" if path.endswith(".prototxt") else "contract")
        fields = declared.inputs if section == "inputs" else declared.outputs
        if len(key) > 1 and isinstance(key[1], int) and key[1] < len(fields):
            return _find_line(path, fields[key[1]].name, section)
        return _find_line(path, section)

    return locate


def _find_line(path: str, name: str, section: str | None = None) -> Location:
    # serving.yaml declares `name: {...}` under `inputs:`/`outputs:`; contract.prototxt has
    # `inputs {` blocks holding `name: "name"`.
    pattern = re.compile(rf"""^\s*(?:{re.escape(name)}\s*[:{{]|name\s*:\s*["']{re.escape(name)}["'])""")
    start = re.compile(rf"^\s*{section}\s*[:{{]") if section else None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return Location(path)
    inside = start is None
    for number, line in enumerate(lines, 1):
        if start is not None and start.search(line):
            inside = True
        elif inside and pattern.search(line):
            return Location(path, number, len(line) - len(line.lstrip()) + 1)
    return Location(path)
