"""What a format reader returns, and the small helpers every reader shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hydro_ci.contract.model import Signature
from hydro_ci.errors import ModelFileError


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


def unreadable(path: Path, what: str) -> ModelFileError:
    """A one-line, located error for a model file we cannot read."""
    return ModelFileError(
        f"{path}: {what}",
        hint="fix or remove the file, or declare the contract in serving.yaml / contract.prototxt",
    )
