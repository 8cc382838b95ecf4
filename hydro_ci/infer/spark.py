"""Spark ML: a partial contract from a saved PipelineModel's metadata JSON (no Spark, no JVM).

Inputs are the columns stages read that no earlier stage writes; outputs the columns stages write
that no later stage reads; a stage that writes a predictor's label is training-only (its columns are
neither). Types come from what we know of the stage classes, as Hydrosphere's manager gave them; a
column we know nothing about is a string of any rank. Spark does not record column types, so
the result is partial (noted), and its dtypes are not held against a declared contract.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.contract.model import DEFAULT_SIGNATURE, DType, Field, Shape, Signature
from hydro_ci.contract.payload import Refusal, resolve_inside
from hydro_ci.infer.reading import ModelReading, read_model_file, unreadable

Column = tuple[DType, Shape]
SCALAR_DOUBLE: Column = (DType.float64, ())
VECTOR: Column = (DType.float64, (-1,))  # ml.linalg.Vector, size unknown
STRINGS: Column = (DType.string, (-1,))  # array<string>
STRING: Column = (DType.string, ())
UNKNOWN: Column = (DType.string, None)
CLUSTER: Column = (DType.int32, ())  # clustering predictions are Spark IntegerType

MAX_METADATA_BYTES = 16 << 20  # one line of JSON per stage: a few kilobytes
_INPUT_KEYS = ("inputCol", "inputCols", "featuresCol")
_OUTPUT_KEYS = ("outputCol", "outputCols", "predictionCol", "probabilityCol", "rawPredictionCol",
                "varianceCol", "leafCol")
# (input column type, output column type) by stage class (the part after the last dot); the types
# Hydrosphere's manager gave (its spark/mappers/*.scala), where Spark agrees. "features" stands for a
# vector input of the stage's numFeatures (else -1); a callable gives a size read from the params.
_Spec = Column | str
_STAGES: dict[str, tuple[_Spec, _Spec]] = {
    "Tokenizer": (STRING, STRINGS),
    "RegexTokenizer": (STRING, STRINGS),
    "StopWordsRemover": (STRINGS, STRINGS),
    "NGram": (STRINGS, STRINGS),
    "HashingTF": (STRINGS, VECTOR),
    "CountVectorizerModel": (STRINGS, VECTOR),
    "Word2VecModel": (STRINGS, "vectorSize"),
    "IDFModel": ("features", VECTOR),
    "PCAModel": ("features", "k"),
    "StringIndexerModel": (STRING, SCALAR_DOUBLE),
    "IndexToString": (SCALAR_DOUBLE, STRING),
    # Spark's encoder takes a category index (the manager's string input would fail in Spark)
    "OneHotEncoder": (SCALAR_DOUBLE, VECTOR),
    "OneHotEncoderModel": (SCALAR_DOUBLE, VECTOR),
    "VectorAssembler": (SCALAR_DOUBLE, "features"),
    # a vector out, as Spark writes it (the manager said a double scalar)
    "VectorIndexerModel": ("features", VECTOR),
    "VectorSlicer": ("features", VECTOR),
    "ChiSqSelectorModel": ("features", VECTOR),
    **dict.fromkeys(
        ("StandardScalerModel", "MinMaxScalerModel", "MaxAbsScalerModel", "Normalizer", "DCT",
         "PolynomialExpansion", "ElementwiseProduct", "Interaction", "BucketedRandomProjectionLSHModel",
         "MinHashLSHModel"), ("features", VECTOR)),
    "Binarizer": (SCALAR_DOUBLE, SCALAR_DOUBLE),
    "Bucketizer": (SCALAR_DOUBLE, SCALAR_DOUBLE),
    "QuantileDiscretizer": (SCALAR_DOUBLE, SCALAR_DOUBLE),
    "ImputerModel": (SCALAR_DOUBLE, SCALAR_DOUBLE),
}
_PREDICTOR_PACKAGES = (".classification.", ".regression.", ".clustering.")


def read_spark(folder: Path) -> ModelReading:
    real = os.path.realpath(folder)
    root = _metadata(folder / "metadata" / "part-00000", real)
    stages_dir = folder / "stages"
    if stages_dir.is_dir():
        dirs = sorted((d for d in stages_dir.iterdir() if d.is_dir()), key=_stage_index)
        stages = [_metadata(d / "metadata" / "part-00000", real) for d in dirs]
    else:
        stages = [root]  # a single saved stage, not a pipeline
    typed = [_stage_columns(stage) for stage in stages]
    # A predictor's labelCol is read only in training; a stage writing it (a StringIndexer of the
    # label) is training-only: Spark skips it at serving when its input column is absent, so its
    # inputs are not the model's inputs and the label is not an output (as the manager decided).
    labels = {c for stage in stages if _is_predictor(stage) for c in _columns(_params(stage), ("labelCol",))}
    training = [bool(labels & set(outs)) for _, outs in typed]
    produced: dict[str, Column] = {}
    consumed: dict[str, Column] = {}
    for (ins, outs), train_only in zip(typed, training, strict=True):
        for col, col_type in ins.items():
            if not train_only and col not in produced and col not in consumed:
                consumed[col] = col_type
        if not train_only:
            produced.update(outs)
    read_later = {c for (ins, _), train_only in zip(typed, training, strict=True) if not train_only
                  for c in ins}
    inputs = tuple(Field(c, dtype=t[0], shape=t[1]) for c, t in sorted(consumed.items()))
    outputs = tuple(Field(c, dtype=t[0], shape=t[1]) for c, t in sorted(produced.items())
                    if c not in read_later and c not in labels)
    note = (f"Spark ML metadata does not record column types: {folder} gives a partial contract "
            "(types from known stage classes, a string of any rank otherwise)")
    sig = Signature(DEFAULT_SIGNATURE, inputs, outputs)
    return ModelReading((sig,), (note,), source=folder, exact_dtypes=False)


def _params(stage: dict[str, Any]) -> dict[str, Any]:
    return {**(stage.get("defaultParamMap") or {}), **(stage.get("paramMap") or {})}


def _is_predictor(stage: dict[str, Any]) -> bool:
    return any(part in str(stage.get("class", "")) for part in _PREDICTOR_PACKAGES)


def _stage_columns(stage: dict[str, Any]) -> tuple[dict[str, Column], dict[str, Column]]:
    """The columns a stage reads and writes, with their types."""
    full = str(stage.get("class", ""))
    cls = full.rsplit(".", 1)[-1]
    params = _params(stage)
    features: Column = (DType.float64, (_count(stage, "numFeatures"),))
    if cls in _STAGES:
        spec_in, spec_out = _STAGES[cls]
        in_type, out_type = _resolve(spec_in, params, features), _resolve(spec_out, params, features)
        outs = {c: out_type for c in _columns(params, ("outputCol", "outputCols"))}
    elif _is_predictor(stage):
        in_type = features
        classes: Column = (DType.float64, (_count(stage, "numClasses"),))
        prediction = CLUSTER if ".clustering." in full else SCALAR_DOUBLE
        per_key = {"predictionCol": prediction, "probabilityCol": classes, "rawPredictionCol": classes,
                   "varianceCol": SCALAR_DOUBLE, "leafCol": VECTOR}
        outs = {c: t for key, t in per_key.items() for c in _columns(params, (key,))}
    else:
        in_type = UNKNOWN
        outs = {c: UNKNOWN for c in _columns(params, _OUTPUT_KEYS)}
    return {c: in_type for c in _columns(params, _INPUT_KEYS)}, outs


def _resolve(spec: _Spec, params: dict[str, Any], features: Column) -> Column:
    if not isinstance(spec, str):
        return spec
    if spec == "features":
        return features
    size = params.get(spec)  # a size param (Word2Vec vectorSize, PCA k); Spark may write it as a double
    return (DType.float64, (int(size),) if isinstance(size, int | float) and size >= 0 else (-1,))


def _count(stage: dict[str, Any], key: str) -> int:
    """numFeatures / numClasses, which Spark records in the metadata of tree models (else -1)."""
    value = stage.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else -1


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
