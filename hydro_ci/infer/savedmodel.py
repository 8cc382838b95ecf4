"""TensorFlow SavedModel: signatures from ``saved_model.pb`` (or ``.pbtxt``) without TensorFlow.

We parse the file with our own minimal message definitions (``proto/hydro_ci/_proto/
tf_saved_model.proto``); the graph, functions and weights are skipped by the parser.
"""

from __future__ import annotations

import logging
from pathlib import Path

from google.protobuf.message import DecodeError

from hydro_ci.contract.model import DType, Field, Shape, Signature
from hydro_ci.infer._pb import tf_pb
from hydro_ci.infer.reading import ModelReading, check_protobuf_size, read_model_file, unreadable

SERVE_TAG = "serve"
INIT_OP_SIGNATURE = "__saved_model_init_op"  # TF's internal signature, not an entry point
DEFAULT_ORDER = ("serving_default", "predict")

# TF DataType numbers that mean the same as ours (Hydrosphere's v3 numbering follows TF's);
# 14 (bfloat16), 20 (resource), 21 (variant) and the float8/int4 family have no v3 equivalent.
_SAME_NUMBER = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19, 22, 23})
_REF_OFFSET = 100  # TF's *_REF dtypes (legacy variables) are the base dtype + 100


def read_saved_model(path: Path) -> ModelReading:
    saved = _parse(path)
    meta = _serving_meta_graph(path, saved)
    sigs = [
        _signature(path, name, meta.signature_def[name])
        for name in sorted(meta.signature_def)
        if name != INIT_OP_SIGNATURE
    ]
    if not sigs:
        raise unreadable(path, "the meta graph tagged 'serve' has no signatures")
    first = next((s for want in DEFAULT_ORDER for s in sigs if s.name == want), sigs[0])
    ordered = (first, *(s for s in sigs if s is not first))
    return ModelReading(ordered, named_signatures=True, source=path)


def _parse(path: Path) -> tf_pb.SavedModel:
    saved = tf_pb.SavedModel()
    data = read_model_file(path)
    if path.suffix == ".pbtxt":
        _parse_text(path, data, saved)
        return saved
    check_protobuf_size(path, data, saved, "the SavedModel")
    try:
        saved.ParseFromString(data)
    except DecodeError as exc:
        raise unreadable(path, f"not a SavedModel protobuf (truncated or corrupt?): {exc}") from None
    return saved


def _parse_text(path: Path, data: bytes, saved: tf_pb.SavedModel) -> None:
    from google.protobuf import text_format  # only text SavedModels need it (keeps start-up fast)

    # Unknown fields (the graph) are skipped; silence protobuf's warning for each of them.
    logger = logging.getLogger("google.protobuf.text_format")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        text_format.Parse(data.decode("utf-8"), saved, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError, ValueError) as exc:
        raise unreadable(path, f"not a SavedModel in text format (truncated or corrupt?): {exc}") from None
    except RecursionError:  # the text parser recurses once per nested message
        raise unreadable(path, "not a SavedModel in text format: nested too deeply") from None
    finally:
        logger.setLevel(level)


def _serving_meta_graph(path: Path, saved: tf_pb.SavedModel) -> tf_pb.MetaGraphDef:
    if not saved.meta_graphs:
        raise unreadable(path, "no meta graph in the SavedModel (empty or not a SavedModel file)")
    for meta in saved.meta_graphs:
        if SERVE_TAG in meta.meta_info_def.tags:
            return meta
    shown = saved.meta_graphs[:10]  # a hostile file may hold a million: the line stays short
    tag_sets = "; ".join(",".join(m.meta_info_def.tags[:10])[:200] or "(none)" for m in shown)
    if len(saved.meta_graphs) > len(shown):
        tag_sets += f"; … {len(saved.meta_graphs)} in all"
    raise unreadable(path, f"no meta graph tagged 'serve' (tag sets: {tag_sets})")


def _signature(path: Path, name: str, sig: tf_pb.SignatureDef) -> Signature:
    inputs = tuple(_field(path, name, key, sig.inputs[key]) for key in sorted(sig.inputs))
    outputs = tuple(_field(path, name, key, sig.outputs[key]) for key in sorted(sig.outputs))
    return Signature(name, inputs, outputs)


def _field(path: Path, sig_name: str, key: str, info: tf_pb.TensorInfo) -> Field:
    where = f"signature {sig_name!r} tensor {key!r}"
    encoding = info.WhichOneof("encoding")
    if encoding != "name" and encoding is not None:
        raise unreadable(path, f"{where} is a {encoding.replace('_', ' ')}, which a contract cannot express")
    return Field(key, dtype=tf_dtype(path, where, info.dtype), shape=tf_shape(info))


def tf_dtype(path: Path, where: str, number: int) -> DType:
    base = number - _REF_OFFSET if number > _REF_OFFSET else number
    if base in _SAME_NUMBER:
        return DType(base)
    try:
        name = tf_pb.DataType.Name(base)
    except ValueError:
        name = f"number {number}"
    raise unreadable(path, f"{where} has dtype {name}, which a Hydrosphere contract cannot express")


def tf_shape(info: tf_pb.TensorInfo) -> Shape:
    if not info.HasField("tensor_shape") or info.tensor_shape.unknown_rank:
        return None
    return tuple(d.size if d.size >= 0 else -1 for d in info.tensor_shape.dim)
