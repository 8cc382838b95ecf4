"""What hydro-ci makes of a model folder, in the forms the oracles answer in."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from hydro_ci._proto import contract_pb2 as pb
from hydro_ci.contract.model import Field, Signature
from hydro_ci.contract.proto import to_protobin
from hydro_ci.errors import HydroCIError
from hydro_ci.infer import folder_contract
from hydro_ci.infer.check import load_model_folder, read_model_folder

ROOT = Path(__file__).resolve().parents[2]
SERVING_NAMES = ("serving.yaml", "serving.yml")


def serving_file(folder: Path) -> Path | None:
    return next((folder / n for n in SERVING_NAMES if (folder / n).is_file()), None)


def case_folders() -> list[Path]:
    """Every example and Hydrosphere-format fixture folder that has a serving file."""
    roots = [ROOT / "examples", ROOT / "tests" / "fixtures" / "hydrosphere"]
    found = [d for r in roots if r.is_dir() for d in sorted(r.iterdir()) if serving_file(d)]
    return found


def model_names(folder: Path) -> list[str]:
    """The Model documents of the folder's serving file, in file order."""
    return read_model_folder(folder).names


def our_signatures(folder: Path) -> list[Signature] | str:
    """The signature each Model document's image carries, in file order, or why hydro-ci refuses
    the folder."""
    try:
        return [folder_contract(load_model_folder(folder, model=name)).primary
                for name in model_names(folder)]
    except HydroCIError as exc:
        return str(exc)


def our_layout(folder: Path, model: str | None = None) -> list[list[str]] | str:
    """(name under /model/files, source path) of every payload entry of the Model named ``model``
    (None: the folder's one), as hydro-ci lays it out."""
    from hydro_ci.contract.payload import layout
    from hydro_ci.diagnostics import Location

    try:
        loaded = load_model_folder(folder, model=model)
    except HydroCIError as exc:
        return str(exc)
    items, problems = layout(loaded.root, [(e, Location("serving")) for e in loaded.payload])
    if problems:
        return problems[0].message
    return sorted([item.target, str(item.source)] for item in items)


def protobin_b64(sig: Signature) -> str:
    return base64.b64encode(to_protobin(sig)).decode()


def neutral(sig: Signature) -> dict[str, Any]:
    """The hs 2 driver's neutral form of a signature (tests/oracle/hs2_driver.py)."""
    return {"name": sig.name, "inputs": [_field(f) for f in sig.inputs],
            "outputs": [_field(f) for f in sig.outputs]}


def _field(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "profile": pb.DataProfileType.Name(f.profile.value),  # type: ignore[arg-type]
                           "shape": None if f.shape is None else list(f.shape)}
    if f.subfields is not None:
        out["subfields"] = [_field(s) for s in f.subfields]
    else:
        assert f.dtype is not None
        out["dtype"] = pb.DataType.Name(f.dtype.value)  # type: ignore[arg-type]
    return out
