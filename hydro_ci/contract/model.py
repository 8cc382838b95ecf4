"""The contract as plain, immutable Python data: what every other part of hydro-ci uses.

Pure: no I/O, no protobuf. Conversions to and from the wire format live in ``contract.proto``;
text formats (YAML, JSON, prototxt) in ``contract.formats``.

Shapes: ``None`` is unknown rank (dynamic), ``()`` a scalar, ``-1`` a dimension of unknown size.
A field holds either a ``dtype`` or ``subfields`` (a nested record), never both.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

Shape = tuple[int, ...] | None
UNKNOWN_DIM = -1


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
