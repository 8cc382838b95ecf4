"""Spark ML: a partial contract from a saved PipelineModel's metadata JSON (no Spark, no JVM).

Inputs are the columns stages read that no earlier stage writes; outputs the columns stages write
that no later stage reads. Types come from what we know of the stage classes; a column we know
nothing about is a string of dynamic shape. Spark does not record column types, so the result is
partial (noted), and its dtypes are not held against a declared contract.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.contract.model import DEFAULT_SIGNATURE, DType, Field, Shape, Signature
from hydro_ci.infer.reading import ModelReading, read_model_file, unreadable
from hydro_ci.payload import Refusal, resolve_inside

Column = tuple[DType, Shape]
SCALAR_DOUBLE: Column = (DType.float64, ())
VECTOR: Column = (DType.float64, (-1,))  # ml.linalg.Vector
STRINGS: Column = (DType.string, (-1,))  # array<string>
STRING: Column = (DType.string, ())
UNKNOWN: Column = (DType.string, None)

MAX_METADATA_BYTES = 16 << 20  # one line of JSON per stage: a few kilobytes
_INPUT_KEYS = ("inputCol", "inputCols", "featuresCol")
_OUTPUT_KEYS = ("outputCol", "outputCols", "predictionCol", "probabilityCol", "rawPredictionCol",
                "varianceCol", "leafCol")
# (input column type, output column type) by stage class (the part after the last dot).
_STAGES: dict[str, tuple[Column, Column]] = {
    "Tokenizer": (STRING, STRINGS),
    "RegexTokenizer": (STRING, STRINGS),
    "StopWordsRemover": (STRINGS, STRINGS),
    "NGram": (STRINGS, STRINGS),
    "HashingTF": (STRINGS, VECTOR),
    "CountVectorizerModel": (STRINGS, VECTOR),
    "Word2VecModel": (STRINGS, VECTOR),
    "IDFModel": (VECTOR, VECTOR),
    "StringIndexerModel": (STRING, SCALAR_DOUBLE),
    "IndexToString": (SCALAR_DOUBLE, STRING),
    "OneHotEncoderModel": (SCALAR_DOUBLE, VECTOR),
    "VectorAssembler": (SCALAR_DOUBLE, VECTOR),
    "StandardScalerModel": (VECTOR, VECTOR),
    "MinMaxScalerModel": (VECTOR, VECTOR),
    "MaxAbsScalerModel": (VECTOR, VECTOR),
    "Normalizer": (VECTOR, VECTOR),
    "PCAModel": (VECTOR, VECTOR),
    "Binarizer": (SCALAR_DOUBLE, SCALAR_DOUBLE),
    "Bucketizer": (SCALAR_DOUBLE, SCALAR_DOUBLE),
    "QuantileDiscretizer": (SCALAR_DOUBLE, SCALAR_DOUBLE),
    "ImputerModel": (SCALAR_DOUBLE, SCALAR_DOUBLE),
}
# Predictors (ml.classification / ml.regression / ml.clustering models): vector in, these out.
_PREDICTION_COLUMNS: dict[str, Column] = {
    "predictionCol": SCALAR_DOUBLE, "probabilityCol": VECTOR, "rawPredictionCol": VECTOR,
    "varianceCol": SCALAR_DOUBLE, "leafCol": VECTOR,
}


def read_spark(folder: Path) -> ModelReading:
    real = os.path.realpath(folder)
    root = _metadata(folder / "metadata" / "part-00000", real)
    stages_dir = folder / "stages"
    if stages_dir.is_dir():
        dirs = sorted((d for d in stages_dir.iterdir() if d.is_dir()), key=_stage_index)
        stages = [_metadata(d / "metadata" / "part-00000", real) for d in dirs]
    else:
        stages = [root]  # a single saved stage, not a pipeline
    produced: dict[str, Column] = {}
    consumed: dict[str, Column] = {}
    for stage in stages:
        cls = str(stage.get("class", "")).rsplit(".", 1)[-1]
        params = {**(stage.get("defaultParamMap") or {}), **(stage.get("paramMap") or {})}
        in_type, out_type = _stage_types(cls, str(stage.get("class", "")))
        for col in _columns(params, _INPUT_KEYS):
            if col not in produced and col not in consumed:
                consumed[col] = in_type
        for key in _OUTPUT_KEYS:
            for col in _columns(params, (key,)):
                produced[col] = out_type if key in ("outputCol", "outputCols") else _PREDICTION_COLUMNS[key]
    read_later = {c for s in stages for c in _columns(
        {**(s.get("defaultParamMap") or {}), **(s.get("paramMap") or {})}, _INPUT_KEYS)}
    inputs = tuple(Field(c, dtype=t[0], shape=t[1]) for c, t in sorted(consumed.items()))
    outputs = tuple(Field(c, dtype=t[0], shape=t[1]) for c, t in sorted(produced.items())
                    if c not in read_later)
    note = (f"Spark ML metadata does not record column types: {folder} gives a partial contract "
            "(types from known stage classes, string/dynamic otherwise)")
    sig = Signature(DEFAULT_SIGNATURE, inputs, outputs)
    return ModelReading((sig,), (note,), source=folder, exact_dtypes=False)


def _stage_types(cls: str, full: str) -> tuple[Column, Column]:
    if cls in _STAGES:
        return _STAGES[cls]
    if any(part in full for part in (".classification.", ".regression.", ".clustering.")):
        return VECTOR, SCALAR_DOUBLE
    return UNKNOWN, UNKNOWN


def _columns(params: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for key in keys:
        value = params.get(key)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(str(v) for v in value)
    return out


def _stage_index(d: Path) -> tuple[int, str]:
    head = d.name.split("_", 1)[0]
    return (int(head) if head.isdigit() else 1 << 30, d.name)


def _metadata(path: Path, real_folder: str) -> dict[str, Any]:
    if isinstance(refused := resolve_inside(real_folder, str(path), path.name), Refusal):
        raise unreadable(path, refused.message.replace("payload file ", "", 1))  # a link out: never read
    raw = read_model_file(path, MAX_METADATA_BYTES)
    try:
        text = raw.decode("utf-8")
        data = boundedjson.loads(text.splitlines()[0] if text.strip() else "")
    except (ValueError, IndexError, UnicodeDecodeError, RecursionError) as exc:
        raise unreadable(path, f"not Spark ML metadata JSON: {exc}") from None
    if not isinstance(data, dict) or "class" not in data:
        raise unreadable(path, "not Spark ML metadata: no 'class'")
    return data
