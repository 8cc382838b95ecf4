"""What a format reader returns, and the small helpers every reader shares."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.contract.model import Signature
from hydro_ci.errors import ModelFileError
from hydro_ci.input_files import read_bounded

# The name Hydrosphere's manager gave the one signature it inferred from each format (its fetchers).
# hydro-ci names it `predict`, as it always has (renaming would break the images it already built, and
# `contract diff` would call every such model's next version breaking); `contract infer` notes the
# manager's name, and `hydro-ci: {signature-name: …}` in serving.yaml keeps it (docs/infer.md).
HYDROSPHERE_SIGNATURE = {"keras": "Predict", "onnx": "Predict", "spark": "default_spark"}

# What an inferred field holds when it is not a plain tensor (ONNX sequence, map, optional): a
# contract only has tensors, so `contract infer --format json` says it per field.
FieldKinds = dict[tuple[str, str, str], str]  # (signature, "inputs"/"outputs", field) -> kind


@dataclass(frozen=True)
class ModelReading:
    """Signatures read from one model file, most important first, plus notes on what is partial.

    ``named_signatures`` is true when the signature names come from the model itself (TF
    SavedModel), so a declared signature name must match one of them; other formats have a
    single, unnamed entry point that we call ``predict``.
    """

    signatures: tuple[Signature, ...]
    notes: tuple[str, ...] = ()
    named_signatures: bool = False
    exact_dtypes: bool = True  # false when the format does not record every dtype (Spark)
    source: Path | None = field(default=None, compare=False)
    kinds: FieldKinds = field(default_factory=dict)  # fields that are not plain tensors


def unreadable(path: Path, what: str) -> ModelFileError:
    """A one-line, located error for a model file we cannot read."""
    return ModelFileError(
        f"{path}: {what}",
        hint="fix or remove the file, or declare the contract in serving.yaml / contract.prototxt",
    )


PROTOBUF_MAX_BYTES = 2 << 30  # protobuf cannot parse a larger message (ONNX, SavedModel)


def read_model_file(path: Path, limit: int = PROTOBUF_MAX_BYTES) -> bytes:
    """A model file's bytes: a regular file only (a FIFO or a link to /dev/zero would block or
    never end), at most ``limit`` bytes; every failure is one located error."""
    try:
        data = read_bounded(path, limit)
    except OSError as exc:
        raise unreadable(path, f"cannot read: {exc.strerror or exc}") from None
    if data is None:
        raise unreadable(path, f"larger than {limit} bytes")
    return data


# A model config or exported graph (JSON: Keras' config.json is a few MB for the largest models).
# Parsed JSON takes up to ~28 times its size in memory (``[],[],…``): 16 MiB keeps a read under
# ~500 MB; a 250 MB config.json inside a 255 KB .keras once took 3.9 GB.
MAX_MEMBER_BYTES = 16 << 20


def zip_member(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    """One member of a model archive, bounded in size; every way zipfile fails is one located error
    (encrypted or unsupported compression raise RuntimeError / NotImplementedError, not BadZipFile)."""
    size = archive.getinfo(name).file_size
    if size > MAX_MEMBER_BYTES:
        raise unreadable(path, f"{name} inside is {size} bytes uncompressed (more than {MAX_MEMBER_BYTES})")
    try:
        return archive.read(name)  # zipfile stops at the recorded size, so the bound holds
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        raise unreadable(path, f"cannot read {name} inside (corrupt, encrypted or unsupported zip?): "
                               f"{exc}") from None


def load_json(path: Path, raw: bytes | str, what: str) -> Any:
    """JSON from a model file; nesting deep enough to exhaust the parser is an error like any other."""
    try:
        return boundedjson.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise unreadable(path, f"{what} is not JSON: {exc}") from None
