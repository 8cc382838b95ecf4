"""The contract on the wire: the one place that imports the generated protobuf code.

``to_message``/``from_message`` convert a ``Signature`` to and from a Hydrosphere v3
``ModelSignature``; ``to_protobin``/``from_protobin`` give the bytes of ``/model/contract.protobin``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from hydro_ci._proto import contract_pb2 as pb
from hydro_ci._proto import legacy_contract_pb2 as legacy_pb
from hydro_ci.contract.model import DType, Field, Profile, Signature
from hydro_ci.errors import ContractError

ModelSignature = pb.ModelSignature
ModelField = pb.ModelField


def field_to_message(f: Field) -> pb.ModelField:
    msg = pb.ModelField(name=f.name, profile=f.profile.value)  # type: ignore[arg-type]
    if f.shape is not None:
        msg.shape.dims.extend(f.shape)
        msg.shape.SetInParent()  # a scalar is a present shape with no dims
    if f.subfields is not None:
        msg.subfields.SetInParent()
        msg.subfields.data.extend(field_to_message(s) for s in f.subfields)
    else:
        assert f.dtype is not None
        msg.dtype = f.dtype.value  # type: ignore[assignment]
    return msg


Report = Callable[[tuple[Any, ...], str, str], None]  # (key of the value, message, rule id)


def _raise(key: tuple[Any, ...], message: str, rule: str) -> None:
    raise ContractError(message)


def field_from_message(msg: pb.ModelField, report: Report = _raise, key: tuple[Any, ...] = ()) -> Field:
    """The field of a v3 message; a value we cannot take goes to ``report`` (default: raise
    ContractError) and is replaced by a placeholder, so a text reader can report every one."""
    shape = tuple(msg.shape.dims) if msg.HasField("shape") else None
    try:
        profile = Profile(msg.profile)
    except ValueError:
        report((*key, "profile"), f"unknown profile number {msg.profile} of {msg.name!r}", "unknown-profile")
        profile = Profile.none
    if msg.WhichOneof("type_or_subfields") == "subfields":
        subs = tuple(field_from_message(s, report, (*key, i)) for i, s in enumerate(msg.subfields.data))
        return Field(msg.name, shape=shape, profile=profile, subfields=subs)
    try:
        dtype = DType(msg.dtype)
    except ValueError:
        if msg.dtype == 0:
            report((*key, "dtype"), f"field {msg.name!r} needs a dtype (or subfields)", "bad-field")
        else:
            report((*key, "dtype"), f"field {msg.name!r} has unknown dtype number {msg.dtype}",
                   "unknown-dtype")
        dtype = DType.any
    return Field(msg.name, dtype=dtype, shape=shape, profile=profile)


def to_message(sig: Signature) -> pb.ModelSignature:
    return pb.ModelSignature(
        signature_name=sig.name,
        inputs=[field_to_message(f) for f in sig.inputs],
        outputs=[field_to_message(f) for f in sig.outputs],
    )


def from_message(msg: pb.ModelSignature) -> Signature:
    return Signature(
        msg.signature_name,
        tuple(field_from_message(f) for f in msg.inputs),
        tuple(field_from_message(f) for f in msg.outputs),
    )


def to_protobin(sig: Signature) -> bytes:
    # deterministic=True keeps the bytes stable across runs (no map fields today, but cheap).
    return to_message(sig).SerializeToString(deterministic=True)


def from_protobin(data: bytes) -> Signature:
    msg = pb.ModelSignature()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise ContractError(f"not a serialized ModelSignature: {exc}") from None
    return from_message(msg)


def to_prototxt(sig: Signature) -> str:
    """``contract.prototxt``: the protobuf text format of the v3 ``ModelSignature``."""
    return str(text_format.MessageToString(to_message(sig)))


# --- the contracts of older Hydrosphere releases (contract.prototxt text only) --------------------

# (what it is, message) in the order tried: the top-level keys tell them apart (v2 `predict {`,
# 0.1.x and v1 `signatures {` with `name`/`dtype` or `field_name`/`info` fields).
LEGACY_CONTRACTS: tuple[tuple[str, type[Any]], ...] = (
    ("a Hydrosphere 2.x ModelContract (predict { ... })", legacy_pb.ModelContractV2),
    ("a Hydrosphere 0.1.x ModelContract (signatures { ... })", legacy_pb.ModelContractV01),
    ("a Hydrosphere 0.0.x ModelContract (signatures { field_name, info })", legacy_pb.ModelContractV1),
)
_LEGACY_DTYPES = {"DT_BFLOAT16": "bfloat16", "DT_RESOURCE": "resource", "DT_VARIANT": "variant"}


def parse_legacy_text(text: str) -> tuple[str, list[Signature]] | None:
    """The signatures of an older release's contract.prototxt, with what it is; None when the text
    is none of them. A value v3 cannot hold (DT_VARIANT, …) raises ContractError."""
    for what, message in LEGACY_CONTRACTS:
        msg = message()
        try:
            text_format.Parse(text, msg)
        except (text_format.ParseError, ValueError, TypeError, RecursionError):
            continue
        if isinstance(msg, legacy_pb.ModelContractV2):
            return what, [_legacy_signature(msg.predict)] if msg.HasField("predict") else []
        if isinstance(msg, legacy_pb.ModelContractV01):
            return what, [_legacy_signature(s) for s in msg.signatures]
        return what, [_v1_signature(s) for s in msg.signatures]
    return None


def _legacy_signature(msg: Any) -> Signature:
    return Signature(msg.signature_name, tuple(_legacy_field(f) for f in msg.inputs),
                     tuple(_legacy_field(f) for f in msg.outputs))


def _legacy_shape(msg: Any) -> tuple[int, ...] | None:
    return None if msg.unknown_rank else tuple(d.size for d in msg.dim)


def _legacy_dtype(name: str, number: int) -> DType:
    dtype_name = legacy_pb.DataType.Name(number)
    if dtype_name in _LEGACY_DTYPES or number == 0:
        raise ContractError(f"field {name!r} has dtype {dtype_name}, which a v3 contract cannot hold")
    return DType(pb.DataType.Value(dtype_name))


def _legacy_field(msg: Any) -> Field:
    shape = _legacy_shape(msg.shape) if msg.HasField("shape") else None
    profile = Profile(msg.profile)
    if msg.WhichOneof("type_or_subfields") == "subfields":
        return Field(msg.name, shape=shape, profile=profile,
                     subfields=tuple(_legacy_field(f) for f in msg.subfields.data))
    return Field(msg.name, dtype=_legacy_dtype(msg.name, msg.dtype), shape=shape, profile=profile)


def _v1_signature(msg: Any) -> Signature:
    return Signature(msg.signature_name, tuple(_v1_field(f) for f in msg.inputs),
                     tuple(_v1_field(f) for f in msg.outputs))


def _v1_field(msg: Any) -> Field:
    if msg.WhichOneof("info_or_subfields") == "subfields":
        return Field(msg.field_name, subfields=tuple(_v1_field(f) for f in msg.subfields.data))
    info = msg.info
    shape = _legacy_shape(info.tensor_shape) if info.HasField("tensor_shape") else None
    return Field(msg.field_name, dtype=_legacy_dtype(msg.field_name, info.dtype), shape=shape)
