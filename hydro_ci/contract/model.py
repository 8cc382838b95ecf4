"""The contract as plain, immutable Python data: what every other part of hydro-ci uses.

Pure: no I/O, no protobuf. Conversions to and from the wire format live in ``contract.proto``;
text formats (YAML, JSON, prototxt) in ``contract.formats``. ``ModelFolder`` is what a model folder
declares, as the loader (``contract.serving``, with ``infer.check``) produces it.

Shapes: ``None`` is any rank (unknown), ``()`` a scalar, ``-1`` a dimension of any size. Every
message writes them one way, ``shape_text``: ``any rank``, ``scalar``, ``[-1, 3]``.
A field holds either a ``dtype`` or ``subfields`` (a nested record), never both.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Shape = tuple[int, ...] | None
UNKNOWN_DIM = -1


def shape_text(shape: Shape) -> str:
    """A shape as every message and report writes it: ``any rank``, ``scalar`` or ``[-1, 3]``."""
    if shape is None:
        return "any rank"
    return "scalar" if shape == () else "[" + ", ".join(str(d) for d in shape) + "]"


class DType(enum.Enum):
    """Tensor element types; values are Hydrosphere v3 ``DataType`` numbers."""

    float32 = 1
    float64 = 2
    int32 = 3
    uint8 = 4
    int16 = 5
    int8 = 6
    string = 7
    complex64 = 8
    int64 = 9
    bool = 10
    qint8 = 11
    quint8 = 12
    qint32 = 13
    qint16 = 15
    quint16 = 16
    uint16 = 17
    complex128 = 18
    float16 = 19
    uint32 = 22
    uint64 = 23
    any = 24
    map = 27

    @classmethod
    def parse(cls, text: str) -> DType | None:
        """The dtype named by ``text`` (canonical name, alias or ``DT_*``), or None."""
        key = text.strip().lower()
        if key.startswith("dt_"):
            key = key[3:]
        return DTYPE_ALIASES.get(key)


# Names accepted only by hydrosdk (hydrosdk/data/types.py ALIAS_TO_DTYPE), with its meaning; the hs
# CLIs refused them, so `contract check` warns (docs/contract.md, "dtype names").
HYDROSDK_DTYPE_ALIASES: dict[str, DType] = {
    "int": DType.int64,
    "byte": DType.int8,
    "short": DType.int16,
    "single": DType.float32,
    "ubyte": DType.uint8,
    "ushort": DType.uint16,
    "complex": DType.complex128,
}
# `float`: float32 here (TensorFlow's DT_FLOAT, and hydro-ci's meaning since its start), DT_DOUBLE in
# hydrosdk ("as Numpy does"), refused by the hs CLIs: always warned about as ambiguous.
AMBIGUOUS_DTYPE = "float"

# Names accepted in serving.yaml, after Hydrosphere's CLI, hydrosdk and TF's DT_* names.
DTYPE_ALIASES: dict[str, DType] = {
    **{d.name: d for d in DType},
    AMBIGUOUS_DTYPE: DType.float32,
    "double": DType.float64,
    "half": DType.float16,
    "str": DType.string,
    "boolean": DType.bool,
    **HYDROSDK_DTYPE_ALIASES,
}


class Profile(enum.Enum):
    """Data profile types; values are Hydrosphere v3 ``DataProfileType`` numbers."""

    none = 0
    categorical = 1
    nominal = 11
    ordinal = 12
    numerical = 2
    continuous = 21
    interval = 22
    ratio = 23
    image = 3
    video = 4
    audio = 5
    text = 6

    @classmethod
    def parse(cls, text: str) -> Profile | None:
        """The profile named by ``text``, case-insensitively, or None."""
        return cls.__members__.get(text.strip().lower())


@dataclass(frozen=True)
class Field:
    """One named input or output: a tensor (``dtype`` + ``shape``) or a record (``subfields``)."""

    name: str
    dtype: DType | None = None
    shape: Shape = None
    profile: Profile = Profile.none
    subfields: tuple[Field, ...] | None = None

    def __post_init__(self) -> None:
        if (self.dtype is None) == (self.subfields is None):
            raise ValueError(f"field {self.name!r} needs exactly one of dtype and subfields")

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def type_text(self) -> str:
        """The dtype's name, or ``record`` for a field of subfields."""
        return self.dtype.name if self.dtype is not None else "record"

    def describe(self) -> str:
        """``float32 [-1, 3]``, ``record any rank``: type and shape, as messages write them."""
        return f"{self.type_text} {shape_text(self.shape)}"


@dataclass(frozen=True)
class Signature:
    """One callable entry point of the model: named inputs in, named outputs out."""

    name: str
    inputs: tuple[Field, ...] = ()
    outputs: tuple[Field, ...] = ()

    def input(self, name: str) -> Field | None:
        return next((f for f in self.inputs if f.name == name), None)

    def output(self, name: str) -> Field | None:
        return next((f for f in self.outputs if f.name == name), None)


DEFAULT_SIGNATURE = "predict"


@dataclass(frozen=True)
class Contract:
    """A model's contract: its name and one or more signatures.

    A Hydrosphere image carries one signature (``/model/contract.protobin`` is a single
    ``ModelSignature``); ``primary`` is that one. Inferred contracts may list several.
    """

    name: str
    signatures: tuple[Signature, ...] = field(default=())

    @property
    def primary(self) -> Signature:
        if not self.signatures:
            raise ValueError(f"contract {self.name!r} has no signature")
        return self.signatures[0]

    def signature(self, name: str) -> Signature | None:
        return next((s for s in self.signatures if s.name == name), None)

    def with_primary(self, name: str) -> Contract:
        """The same contract with signature ``name`` moved first (KeyError if absent)."""
        chosen = self.signature(name)
        if chosen is None:
            raise KeyError(name)
        rest = tuple(s for s in self.signatures if s.name != name)
        return Contract(self.name, (chosen, *rest))


def walk_fields(fields: tuple[Field, ...], prefix: str = "") -> Iterator[tuple[str, Field]]:
    """Every field with its dotted path, subfields included, depth first."""
    for f in fields:
        path = f"{prefix}{f.name}"
        yield path, f
        if f.subfields is not None:
            yield from walk_fields(f.subfields, path + ".")


def is_python_runtime(runtime: str | None) -> bool:
    """A runtime image that runs ``src/func_main.py`` (its name, not its tag, says python)."""
    return runtime is not None and "python" in runtime.split("@")[0].lower()


@dataclass(frozen=True)
class ModelFolder:
    """A model folder as data: what ``serving.yaml`` (and ``contract.prototxt``) declare."""

    root: Path
    name: str
    runtime: str | None = None
    install_command: str | None = None
    payload: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    # Declared contract (serving.yaml and/or contract.prototxt), None when only inference can tell.
    contract: Contract | None = None
    # The `hydro-ci:` section of serving.yaml, as written.
    config: dict[str, Any] = field(default_factory=dict)
    # Hydrosphere platform keys we accept and carry but do not build on (training-data, monitoring…).
    extra: dict[str, Any] = field(default_factory=dict)
    # The other Model documents of the same serving file (by name): the folder's files are shared,
    # so this model's model files are those its payload ships (infer.model_file_roots).
    siblings: tuple[str, ...] = ()

    @property
    def is_python_runtime(self) -> bool:
        return is_python_runtime(self.runtime)
