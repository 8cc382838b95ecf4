"""The protobin is exactly Hydrosphere v3's ModelSignature: checked byte by byte against the
field numbers documented for v3 (not against our own .proto, which could be wrong the same way)."""

from __future__ import annotations

import pytest

from hydro_ci.contract.model import Contract, DType, Field, Profile, Signature
from hydro_ci.contract.proto import from_protobin, to_protobin
from hydro_ci.errors import ContractError


def tag(number: int, wire_type: int) -> bytes:
    return bytes([number << 3 | wire_type])


def ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field (payloads here are < 128 bytes)."""
    return tag(number, 2) + bytes([len(payload)]) + payload


def test_signature_name_inputs_outputs_field_numbers() -> None:
    sig = Signature("infer", (Field("a", DType.int32, ()),), (Field("b", DType.float64, (3,)),))
    # ModelField: name=1, shape=2 (TensorShape.dims=1, packed), dtype=4; DT_INT32=3, DT_DOUBLE=2.
    field_a = ld(1, b"a") + ld(2, b"") + tag(4, 0) + b"\x03"
    field_b = ld(1, b"b") + ld(2, ld(1, b"\x03")) + tag(4, 0) + b"\x02"
    expected = ld(1, b"infer") + ld(2, field_a) + ld(3, field_b)
    assert to_protobin(sig) == expected


@pytest.mark.parametrize(
    ("profile", "number"),
    [(Profile.categorical, 1), (Profile.nominal, 11), (Profile.ordinal, 12), (Profile.numerical, 2),
     (Profile.continuous, 21), (Profile.interval, 22), (Profile.ratio, 23), (Profile.image, 3),
     (Profile.video, 4), (Profile.audio, 5), (Profile.text, 6)],
)
def test_profile_numbers(profile: Profile, number: int) -> None:
    sig = Signature("s", (Field("x", DType.string, None, profile),))
    # Unknown rank: no shape at all; DT_STRING=7; profile is field 5.
    expected = ld(1, b"s") + ld(2, ld(1, b"x") + tag(4, 0) + b"\x07" + tag(5, 0) + bytes([number]))
    assert to_protobin(sig) == expected


@pytest.mark.parametrize(
    ("dtype", "number"),
    [(DType.float32, 1), (DType.float64, 2), (DType.int32, 3), (DType.uint8, 4), (DType.int16, 5),
     (DType.int8, 6), (DType.string, 7), (DType.complex64, 8), (DType.int64, 9), (DType.bool, 10),
     (DType.qint8, 11), (DType.quint8, 12), (DType.qint32, 13), (DType.qint16, 15), (DType.quint16, 16),
     (DType.uint16, 17), (DType.complex128, 18), (DType.float16, 19), (DType.uint32, 22),
     (DType.uint64, 23), (DType.any, 24), (DType.map, 27)],
)
def test_dtype_numbers(dtype: DType, number: int) -> None:
    sig = Signature("s", (), (Field("y", dtype, ()),))
    assert to_protobin(sig) == ld(1, b"s") + ld(3, ld(1, b"y") + ld(2, b"") + tag(4, 0) + bytes([number]))


def test_subfields_field_numbers() -> None:
    nested = Field("face", subfields=(Field("box", DType.float32, (4,)),))
    # ModelField.subfields = 3, Subfield.data = 1; DT_FLOAT = 1.
    box = ld(1, b"box") + ld(2, ld(1, b"\x04")) + tag(4, 0) + b"\x01"
    assert to_protobin(Signature("s", (nested,))) == ld(1, b"s") + ld(2, ld(1, b"face") + ld(3, ld(1, box)))


def test_unknown_dims_and_nesting_round_trip() -> None:
    nested = Field("face", shape=(-1,), subfields=(
        Field("box", DType.float32, (4,)), Field("label", DType.string, (), Profile.text)))
    sig = Signature("detect", (Field("image", DType.uint8, (-1, -1, 3), Profile.image),), (nested,))
    data = to_protobin(sig)
    # -1 is a 10-byte two's-complement varint inside the packed dims.
    assert b"\xff" * 9 + b"\x01" in data
    assert from_protobin(data) == sig


def test_garbage_is_our_error() -> None:
    with pytest.raises(ContractError):
        from_protobin(b"\xff\xff\xff")


def test_field_needs_dtype_or_subfields_not_both() -> None:
    with pytest.raises(ValueError):
        Field("x")
    with pytest.raises(ValueError):
        Field("x", DType.int32, subfields=(Field("y", DType.int32),))


def test_contract_primary_and_reorder() -> None:
    c = Contract("m", (Signature("a"), Signature("b")))
    assert c.primary.name == "a"
    assert c.with_primary("b").primary.name == "b"
    with pytest.raises(KeyError):
        c.with_primary("zzz")


@pytest.mark.parametrize(("alias", "dtype"), [
    ("float", DType.float32), ("double", DType.float64), ("half", DType.float16), ("DT_INT64", DType.int64),
    ("Float32", DType.float32), ("bool", DType.bool), ("quint16", DType.quint16)])
def test_dtype_aliases(alias: str, dtype: DType) -> None:
    assert DType.parse(alias) is dtype


def test_unknown_dtype_alias() -> None:
    assert DType.parse("float128") is None
