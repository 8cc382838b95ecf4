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
