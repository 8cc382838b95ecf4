"""PyTorch: ``torch.export`` archives (``.pt2``), read from the JSON model inside the zip.

The serialized ExportedProgram lists the graph's inputs with their kind (user input, parameter,
buffer, …) and every tensor's dtype and sizes; symbolic sizes (dynamic dims) become ``-1``.
PyTorch has no output names, so outputs are ``output_0``, ``output_1``, … in return order.
TorchScript (``.pt``) and ``torch.save`` files record no shapes: we say so.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from hydro_ci.contract.model import DEFAULT_SIGNATURE, DType, Field, Shape, Signature
from hydro_ci.infer.reading import ModelReading, load_json, open_zip, unreadable, zip_member

Json = Any

# torch/_export/serde/schema.py ScalarType → ours; the rest (bfloat16, float8, complex32) has no v3 type.
SCALAR_TYPES: dict[int, DType] = {
    1: DType.uint8, 2: DType.int8, 3: DType.int16, 4: DType.int32, 5: DType.int64,
    6: DType.float16, 7: DType.float32, 8: DType.float64, 10: DType.complex64,
    11: DType.complex128, 12: DType.bool, 28: DType.uint16, 34: DType.uint32, 35: DType.uint64,
}
SCALAR_TYPE_NAMES = {0: "UNKNOWN", 9: "COMPLEXHALF", 13: "BFLOAT16", 29: "FLOAT8E4M3FN",
                     30: "FLOAT8E5M2", 31: "FLOAT8E4M3FNUZ", 32: "FLOAT8E5M2FNUZ", 33: "FLOAT8E8M0FNU"}
# Symbolic scalars a user may pass instead of a tensor.
_SYM_SCALARS = {"as_sym_int": DType.int64, "as_sym_float": DType.float64, "as_sym_bool": DType.bool,
                "as_int": DType.int64, "as_float": DType.float64, "as_bool": DType.bool}


def read_torch_export(path: Path) -> ModelReading:
    program = _program(path)
    try:
        graph_module = program["graph_module"]
        graph, signature = graph_module["graph"], graph_module["signature"]
        tensors = graph["tensor_values"]
        notes: list[str] = []
        inputs: list[Field] = []
        for spec in signature["input_specs"]:
            if "user_input" not in spec:
                continue  # parameters, buffers, constants, tokens: not fed by the caller
            inputs.append(_field(path, "input", spec["user_input"]["arg"], tensors, notes, None))
        outputs: list[Field] = []
        for spec in signature["output_specs"]:
            if "user_output" not in spec:
                continue  # buffer/input mutations, tokens: not returned to the caller
            outputs.append(_field(path, "output", spec["user_output"]["arg"], tensors, notes,
                                  f"output_{len(outputs)}"))
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise unreadable(path, f"unexpected torch.export model JSON ({type(exc).__name__}: {exc})") from None
    sig = Signature(DEFAULT_SIGNATURE, tuple(inputs), tuple(outputs))
    return ModelReading((sig,), tuple(notes), source=path)


def read_torchscript(path: Path) -> ModelReading:
    raise unreadable(
        path,
        "TorchScript and torch.save files record no input or output shapes or dtypes; "
        "declare the contract in serving.yaml (or export the model with torch.export to a .pt2)",
    )


def _program(path: Path) -> Json:
    try:
        with open_zip(path) as z:
            names = z.namelist()
            # torch>=2.6 writes <archive>/models/<name>.json; older ones serialized_exported_program.json
            candidates = [n for n in names if "/models/" in n and n.endswith(".json")] or [
                n for n in names if n.endswith("serialized_exported_program.json")
            ]
            if not candidates:
                raise unreadable(path, "no exported program JSON inside (not a torch.export archive?)")
            model = next((n for n in candidates if n.endswith("/models/model.json")), sorted(candidates)[0])
            raw = zip_member(path, z, model)
    # ValueError: a member name that is not UTF-8; NotImplementedError: a zip version it does not know
    except (OSError, ValueError, EOFError, NotImplementedError, zipfile.BadZipFile) as exc:
        raise unreadable(path, f"not a .pt2 archive (truncated or corrupt zip?): {exc}") from None
    return load_json(path, raw, "exported program")


def _field(path: Path, side: str, arg: Json, tensors: Json, notes: list[str], name: str | None) -> Field:
    kind, value = next(iter(arg.items()))
    if kind == "as_tensor":
        meta = tensors[value["name"]]
        return Field(name or value["name"], dtype=_dtype(path, side, value["name"], meta["dtype"]),
                     shape=_sizes(meta["sizes"]))
    if kind in _SYM_SCALARS:
        label = name or (value.get("as_name") if isinstance(value, dict) else None) or f"{side}"
        notes.append(f"{side} {label!r} is a Python scalar in the exported program")
        return Field(label, dtype=_SYM_SCALARS[kind], shape=())
    raise unreadable(path, f"{side} of kind {kind!r} cannot be expressed in a contract")


def _dtype(path: Path, side: str, name: str, number: int) -> DType:
    if number in SCALAR_TYPES:
        return SCALAR_TYPES[number]
    what = SCALAR_TYPE_NAMES.get(number, f"number {number}")
    raise unreadable(path, f"{side} {name!r} has dtype {what}, which a Hydrosphere contract cannot express")


def _sizes(sizes: Json) -> Shape:
    # {"as_int": 4} is a fixed size; {"as_expr": …} (a symbol such as the batch) is dynamic
    return tuple(int(s["as_int"]) if "as_int" in s else -1 for s in sizes)
