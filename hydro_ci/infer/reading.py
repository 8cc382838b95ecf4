"""What a format reader returns, and the small helpers every reader shares."""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from hydro_ci import boundedjson
from hydro_ci.contract.model import Signature
from hydro_ci.errors import ModelFileError
from hydro_ci.input_files import open_regular, read_bounded

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


# protobuf builds an object for every entry of a repeated field it knows (a message, a string, a
# number): 2 bytes of file are one empty message, ~45 bytes of memory (a 50 MB ONNX of empty
# initializers took 1.1 GB and 6 s). Our minimal schemas know a model's inputs, outputs and weight
# names (thousands of entries in the largest models); the rest (nodes, weights' data) protobuf keeps
# as unknown bytes, and the walk below skips in one step per field.
MAX_PROTOBUF_ENTRIES = 1_000_000
MAX_PROTOBUF_FIELDS = 4_000_000  # fields looked at, known or not, in the messages the schema knows
MAX_PROTOBUF_DEPTH = 100  # protobuf's own recursion limit


def check_protobuf_size(path: Path, data: bytes, message: Message, what: str) -> None:
    """Refuse ``data`` before protobuf parses it as ``message`` when it would build more than
    ``MAX_PROTOBUF_ENTRIES`` repeated entries: one pass over the wire format, depth first with a
    stack of open messages, nothing allocated per field. A singular field given again is merged or
    overwritten by protobuf (no new object), so only repeated ones count. Bytes the walk cannot
    follow (truncated, a bad tag) are left to the parser, which refuses the same bytes."""
    entries = fields = 0
    # open messages: (position, end, its descriptor, unknown groups open in it)
    stack: list[tuple[int, int, Descriptor, int]] = [(0, len(data), cast(Descriptor, message.DESCRIPTOR), 0)]
    while stack:
        pos, end, descriptor, groups = stack.pop()
        known = _schema(descriptor)
        while pos < end:
            fields += 1
            if fields > MAX_PROTOBUF_FIELDS:
                raise unreadable(path, f"{what} has more than {MAX_PROTOBUF_FIELDS} fields in the messages "
                                       "hydro-ci reads (inputs, outputs, weight names)")
            key, pos = _varint(data, pos, end)
            if key < 0:
                return
            number, wire = key >> 3, key & 7
            repeated, child, packable = known.get(number, _UNKNOWN) if groups == 0 else _UNKNOWN
            entries += repeated
            length = 0
            if wire == 0:
                _, pos = _varint(data, pos, end)
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            elif wire == 2:
                length, pos = _varint(data, pos, end)
                if length < 0 or pos + length > end:
                    return
                if packable:
                    entries += length  # packed numbers: up to one per byte
            elif wire == 3:
                groups += 1  # an unknown group: its fields are unknown too
            elif wire == 4 and groups > 0:
                groups -= 1
            else:
                return  # wire types 6, 7, an end without a start: the parser refuses it
            if pos < 0:
                return
            if entries > MAX_PROTOBUF_ENTRIES:
                raise unreadable(path, f"{what} holds more than {MAX_PROTOBUF_ENTRIES} entries in the "
                                       "repeated fields hydro-ci reads (inputs, outputs, weight names, dims)")
            if wire == 2 and child is not None:
                if len(stack) + 2 > MAX_PROTOBUF_DEPTH:
                    raise unreadable(path, f"{what} nests messages more than {MAX_PROTOBUF_DEPTH} deep")
                stack.append((pos + length, end, descriptor, groups))  # the rest of this message
                stack.append((pos, pos + length, child, 0))
                break
            pos += length


_Field = tuple[int, "Descriptor | None", bool]  # (1 if repeated, its message type, packed numbers)
_UNKNOWN: _Field = (0, None, False)
_SCHEMAS: dict[str, dict[int, _Field]] = {}


def _schema(descriptor: Descriptor) -> dict[int, _Field]:
    """Field number → what the walk needs of it (the descriptor API is slow per field)."""
    schema = _SCHEMAS.get(descriptor.full_name)
    if schema is None:
        schema = {}
        for number, f in descriptor.fields_by_number.items():
            repeated = getattr(f, "is_repeated", None)  # protobuf >= 6.31; `label` before (removed in 7)
            if repeated is None:
                repeated = cast(Any, f).label == f.LABEL_REPEATED
            numbers = bool(repeated) and f.message_type is None and f.type not in (f.TYPE_STRING,
                                                                                    f.TYPE_BYTES)
            schema[number] = (int(bool(repeated)), f.message_type, numbers)
        _SCHEMAS[descriptor.full_name] = schema
    return schema


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, position after it); (-1, -1) when it runs past ``end`` or over 10 bytes."""
    value = shift = 0
    while pos < end and shift < 70:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return -1, -1


# A model config or exported graph (JSON: Keras' config.json is a few MB for the largest models).
# Parsed JSON takes up to ~28 times its size in memory (``[],[],…``): 16 MiB keeps a read under
# ~500 MB; a 250 MB config.json inside a 255 KB .keras once took 3.9 GB.
MAX_MEMBER_BYTES = 16 << 20


# zipfile reads a whole central directory into memory and makes an object of every entry it lists:
# a few hundred MB of entries (a .keras, a .pt2, any zip a folder holds) would take GBs and minutes.
# Model archives list a few (Keras) to a few thousand (torch.export: one per weight) entries.
MAX_ZIP_ENTRIES = 100_000
MAX_ZIP_DIRECTORY = 16 << 20  # bytes of central directory

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record (zipfile's structEndArchive)
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_ENTRY = 46  # fixed part of a central directory entry; then name, extra field, comment


@contextmanager
def open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    """``path`` as a zip archive, once its central directory is known to be small: the end record
    is read here first (as zipfile will read it) and more than ``MAX_ZIP_ENTRIES`` entries or
    ``MAX_ZIP_DIRECTORY`` bytes of directory is one located error. A regular file only (see
    hydro_ci.input_files; a link is followed, as zipfile did: the finder keeps links inside the
    folder); other damage is zipfile's to report (BadZipFile)."""
    with open_regular(os.path.realpath(path)) as fh:
        directory = _central_directory(fh)
        if directory is not None:
            _check_directory(path, fh, *directory)
        fh.seek(0)
        with zipfile.ZipFile(fh) as archive:
            yield archive


def _central_directory(fh: IO[bytes]) -> tuple[int, int, int] | None:
    """(entries it declares, its offset, its size) as zipfile's _EndRecData and _RealGetContents
    compute them; None where zipfile will find no end record (it then raises BadZipFile)."""
    size = os.fstat(fh.fileno()).st_size
    if size < _EOCD.size:
        return None
    fh.seek(size - _EOCD.size)
    data = fh.read(_EOCD.size)
    if data[:4] == b"PK\x05\x06" and data[-2:] == b"\0\0":  # no archive comment
        where = size - _EOCD.size
    else:  # a comment of up to 64 KiB after the record: its last signature, as zipfile takes it
        start = max(size - (1 << 16) - _EOCD.size, 0)
        fh.seek(start)
        tail = fh.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _EOCD.size:
            return None
        where, data = start + at, tail[at: at + _EOCD.size]
    _, _, _, _, entries, cd_size, cd_offset, _ = _EOCD.unpack(data)
    start_dir = where - cd_size
    if where >= _EOCD64_LOCATOR.size + _EOCD64.size:  # zip64: the records just before this one
        fh.seek(where - _EOCD64_LOCATOR.size)
        if _EOCD64_LOCATOR.unpack(fh.read(_EOCD64_LOCATOR.size))[0] == b"PK\x06\x07":
            fh.seek(where - _EOCD64_LOCATOR.size - _EOCD64.size)
            record = _EOCD64.unpack(fh.read(_EOCD64.size))
            if record[0] == b"PK\x06\x06":
                entries, cd_size = record[7], record[8]
                start_dir = where - cd_size - _EOCD64_LOCATOR.size - _EOCD64.size
    del cd_offset  # zipfile trusts the record's position, not the offset it states
    return entries, start_dir, cd_size


def _check_directory(path: Path, fh: IO[bytes], entries: int, start: int, size: int) -> None:
    if size > MAX_ZIP_DIRECTORY:
        raise unreadable(path, f"its zip directory is {size} bytes (hydro-ci reads at most "
                               f"{MAX_ZIP_DIRECTORY >> 20} MiB of zip directory)")
    if entries > MAX_ZIP_ENTRIES:
        raise unreadable(path, f"its zip directory lists {entries} entries (hydro-ci reads at most "
                               f"{MAX_ZIP_ENTRIES})")
    if start < 0:
        return  # zipfile: "Bad offset for central directory"
    fh.seek(start)
    data = fh.read(size)
    # The record's count may lie: zipfile parses entries until the directory's size is used up.
    total = count = 0
    while total < size and data[total: total + 4] == b"PK\x01\x02" and total + _CENTRAL_ENTRY <= len(data):
        name, extra, comment = struct.unpack_from("<3H", data, total + 28)
        total += _CENTRAL_ENTRY + name + extra + comment
        count += 1
        if count > MAX_ZIP_ENTRIES:
            raise unreadable(path, f"its zip directory holds more than {MAX_ZIP_ENTRIES} entries (hydro-ci "
                                   "reads at most that many)")


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
