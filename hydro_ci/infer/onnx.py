"""ONNX: graph inputs (not initializers) and outputs from a ``.onnx`` file, without onnx installed.

Parsed with our minimal ``proto/hydro_ci/_proto/onnx_model.proto``; nodes and weights are skipped.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf.message import DecodeError

from hydro_ci.contract.model import DEFAULT_SIGNATURE, DType, Field, Shape, Signature
from hydro_ci.infer._pb import onnx_pb
from hydro_ci.infer.reading import FieldKinds, ModelReading, check_protobuf_size, read_model_file, unreadable

# onnx.TensorProto.DataType → ours. Missing ones (bfloat16, float8*, int4, …) have no v3 equivalent.
ELEM_TYPES: dict[int, DType] = {
    1: DType.float32,
    2: DType.uint8,
    3: DType.int8,
    4: DType.uint16,
    5: DType.int16,
    6: DType.int32,
    7: DType.int64,
    8: DType.string,
    9: DType.bool,
    10: DType.float16,
    11: DType.float64,
    12: DType.uint32,
    13: DType.uint64,
    14: DType.complex64,
    15: DType.complex128,
}
ELEM_TYPE_NAMES = {
    0: "UNDEFINED", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
    20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1", 24: "FLOAT8E8M0",
    25: "UINT2", 26: "INT2",
}


def read_onnx(path: Path) -> ModelReading:
    model = onnx_pb.ModelProto()
    data = read_model_file(path)
    check_protobuf_size(path, data, model, "the ONNX model")
    try:
        model.ParseFromString(data)
    except DecodeError as exc:
        raise unreadable(path, f"not an ONNX model (truncated or corrupt?): {exc}") from None
    if not model.HasField("graph") or not model.ir_version:
        raise unreadable(path, "not an ONNX model: no ir_version or graph")
    graph = model.graph
    weights = {t.name for t in graph.initializer} | {s.values.name for s in graph.sparse_initializer}
    notes: list[str] = []
    name = DEFAULT_SIGNATURE
    kinds: FieldKinds = {}
    inputs = tuple(_field(path, "input", v, notes) for v in graph.input if v.name not in weights)
    outputs = tuple(_field(path, "output", v, notes) for v in graph.output)
    for side, values in (("inputs", graph.input), ("outputs", graph.output)):
        for v in values:
            kind = value_kind(v.type) if v.name not in weights else "tensor"
            if kind != "tensor":
                kinds[(name, side, v.name)] = kind
    return ModelReading((Signature(name, inputs, outputs),), tuple(notes), source=path, kinds=kinds)


def value_kind(t: onnx_pb.TypeProto) -> str:
    """What an ONNX value is, in words: ``tensor``, ``map``, ``sequence of tensor``, ``optional of
    sequence of map``, … (the contract keeps only a dtype and a shape of it)."""
    kind = t.WhichOneof("value")
    if kind == "sequence_type":
        return f"sequence of {value_kind(t.sequence_type.elem_type)}"
    if kind == "optional_type":
        return f"optional of {value_kind(t.optional_type.elem_type)}"
    return {"tensor_type": "tensor", "map_type": "map"}.get(kind or "", kind or "none")


def _field(path: Path, side: str, value: onnx_pb.ValueInfoProto, notes: list[str]) -> Field:
    where = f"graph {side} {value.name!r}"
    if not value.HasField("type"):
        raise unreadable(path, f"{where} has no type")
    dtype, shape = _type(path, where, value.type, notes)
    return Field(value.name, dtype=dtype, shape=shape)


def _type(path: Path, where: str, t: onnx_pb.TypeProto, notes: list[str]) -> tuple[DType, Shape]:
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        return elem_type(path, where, t.tensor_type.elem_type), _shape(t.tensor_type)
    if kind == "map_type":
        return DType.map, ()
    if kind == "sequence_type":
        elem = t.sequence_type.elem_type
        if elem.WhichOneof("value") == "map_type":
            return DType.map, (-1,)  # e.g. skl2onnx's ZipMap: a list of {label: probability}
        dtype, _ = _type(path, where, elem, notes)
        notes.append(f"{where} is a sequence of tensors: its shape is left as any rank")
        return dtype, None
    if kind == "optional_type":
        notes.append(f"{where} is optional in the model")
        return _type(path, where, t.optional_type.elem_type, notes)
    what = {"sparse_tensor_type": "a sparse tensor", "opaque_type": "an opaque value"}.get(
        kind or "", "a value of no type"
    )
    raise unreadable(path, f"{where} is {what}, which a Hydrosphere contract cannot express")


def elem_type(path: Path, where: str, number: int) -> DType:
    if number in ELEM_TYPES:
        return ELEM_TYPES[number]
    name = ELEM_TYPE_NAMES.get(number, f"number {number}")
    raise unreadable(path, f"{where} has element type {name}, which a Hydrosphere contract cannot express")


def _shape(tensor: onnx_pb.TypeProto.Tensor) -> Shape:
    if not tensor.HasField("shape"):
        return None  # no shape at all: unknown rank
    # dim_param (symbolic) and missing dims are of unknown size
    return tuple(
        d.dim_value if d.WhichOneof("value") == "dim_value" and d.dim_value >= 0 else -1
        for d in tensor.shape.dim
    )
