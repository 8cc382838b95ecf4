"""Reading a pickle (plain or joblib) without running any code from it.

Every global the pickle names (classes, functions) resolves to an inert ``Stub`` that records its
module, name, arguments and state; nothing is imported and nothing the pickle names is called.
NumPy arrays come out as ``Array`` (dtype kind, item size, shape, and the values of small or
object arrays), including joblib's format, which writes array bytes straight after a wrapper
object in the stream.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

from hydro_ci.input_files import open_regular

MAX_KEPT_BYTES = 1 << 20  # values of numeric arrays larger than this are skipped, not decoded
# What a hostile file can make us hold or do (a 3 MB gzip once held a 3 GB bytes object, an 18-byte
# zlib stream asked for a 1 TiB frame). Every length read from the stream is checked against these
# before anything is allocated; data is read in chunks, so a length the stream cannot back ends early.
MAX_VALUE_BYTES = MAX_KEPT_BYTES  # a bytes/str value larger than this is read through, not kept
MAX_KEPT_TOTAL = 256 << 20  # values kept in all; past it, further ones are read through too
MAX_FRAME = 16 << 20  # pickle frames are ~64 KiB (large values are written outside them)
MAX_LONG = 1 << 16  # LONG4 bytes: a 500 000-digit integer is no model attribute
MAX_LINE = 1 << 20  # protocol-0 text lines
MAX_OPS = 8_000_000  # opcodes run (objects built, stubs weigh more): ~1 GiB of Python objects at most
DECOMPRESSED_BASE, DECOMPRESSED_RATIO = 256 << 20, 64  # inflated: 256 MiB + 64 times the file's size
_CHUNK = 1 << 20


class UnsafePickleError(Exception):
    """The pickle needs something we refuse to emulate (persistent ids, a broken stream)."""


class Stub:
    """Stands for any object the pickle builds: records what it was built from, does nothing."""

    module: ClassVar[str] = ""
    qualname: ClassVar[str] = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None
        self.items: dict[Any, Any] = {}
        self.list: list[Any] = []

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:
        obj = super().__new__(cls)
        Stub.__init__(obj, *args, **kwargs)
        return obj

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items[key] = value

    def append(self, value: Any) -> None:
        self.list.append(value)

    def extend(self, values: Any) -> None:
        self.list.extend(values)

    @property
    def fullname(self) -> str:
        return f"{self.module}.{self.qualname}"

    def attrs(self) -> dict[str, Any]:
        """The instance dict the pickle restores (``state`` or the dict half of ``(dict, slots)``)."""
        state = self.state
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict | None):
            state = {**(state[0] or {}), **(state[1] or {})}
        return state if isinstance(state, dict) else {}

    def __repr__(self) -> str:
        return f"<stub {self.fullname}>"


class Skipped:
    """A bytes or str value too large to keep: read through, only its size remembered."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __repr__(self) -> str:
        return f"<{self.size} bytes skipped>"


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...
    def readline(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...


class BudgetStream:
    """The (decompressed) pickle stream with what reading it may still cost: bytes inflated, values
    kept, opcodes run. Shared by the nested unpicklers of joblib's object arrays."""

    def __init__(self, raw: _Readable, limit: int) -> None:
        self._raw = raw
        self.left = limit
        self.kept = MAX_KEPT_TOTAL
        self.ops = MAX_OPS
        self.limit = limit

    def _spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise UnsafePickleError(f"more than {self.limit} bytes once decompressed (a compression bomb?)")

    def read(self, n: int = -1) -> bytes:
        """At most ``n`` bytes, read in chunks: a claimed length is never allocated before the
        stream has backed it."""
        want = self.left + 1 if n is None or n < 0 else n
        chunks = []
        while want > 0:
            chunk = self._raw.read(min(want, _CHUNK))
            if not chunk:
                break
            self._spend(len(chunk))
            chunks.append(chunk)
            want -= len(chunk)
        return b"".join(chunks)

    def readline(self, size: int = -1) -> bytes:
        line = self._raw.readline(MAX_LINE if size is None or size < 0 else min(size, MAX_LINE))
        self._spend(len(line))
        return line

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> BudgetStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass(frozen=True)
class DTypeInfo:
    kind: str  # numpy kind: f i u b O U S c V
    itemsize: int


@dataclass(frozen=True)
class Array:
    dtype: DTypeInfo
    shape: tuple[int, ...]
    values: list[Any] | None  # object arrays and small numeric ones; None when skipped


_STUBS: dict[tuple[str, str], type[Stub]] = {}


def stub_class(module: str, name: str) -> type[Stub]:
    key = (module, name)
    if key not in _STUBS:
        _STUBS[key] = type(name.rsplit(".", 1)[-1], (Stub,), {"module": module, "qualname": name})
    return _STUBS[key]


def dtype_info(obj: Any) -> DTypeInfo | None:
    """The numpy dtype a ``numpy.dtype(...)`` stub describes."""
    if not (isinstance(obj, Stub) and obj.qualname == "dtype" and obj.args):
        return None
    code = str(obj.args[0])
    kind = code[0]
    if kind in "USV" and isinstance(obj.state, tuple) and len(obj.state) > 5 and obj.state[5] > 0:
        return DTypeInfo(kind, int(obj.state[5]))
    digits = code[1:]
    return DTypeInfo(kind, int(digits) if digits.isdigit() else 8)


# Opcodes that build an object (a Stub with its dicts: ~10 times a list) weigh more in MAX_OPS.
_WEIGHT = [1] * 256
for _op in (pickle.REDUCE, pickle.NEWOBJ, pickle.NEWOBJ_EX, pickle.OBJ, pickle.INST, pickle.BUILD):
    _WEIGHT[_op[0]] = 8

# Modules only Python 2 had (Python 3 renamed them): a pickle naming them was written by Python 2.
_PYTHON2_MODULES = frozenset({"copy_reg", "__builtin__", "exceptions", "Queue", "cPickle"})


class SafeUnpickler(pickle._Unpickler):  # the pure-Python unpickler: its opcodes can be overridden
    dispatch = pickle._Unpickler.dispatch.copy()

    def __init__(self, file: BudgetStream) -> None:
        super().__init__(file)  # read/readline is all it reads
        self.stream = file
        self.python2: str | None = None  # what shows the stream was written by Python 2

    def load(self) -> Any:
        """pickle._Unpickler.load, counting every opcode against the stream's budget."""
        self._unframer = pickle._Unframer(self._file_read, self._file_readline)  # type: ignore[attr-defined]
        self.read = self._unframer.read
        self.readinto = self._unframer.readinto
        self.readline = self._unframer.readline
        self.metastack: list[Any] = []
        self.stack: list[Any] = []
        self.append = self.stack.append
        self.proto = 0
        read, dispatch, stream = self.read, self.dispatch, self.stream
        try:
            while True:
                key = read(1)
                if not key:
                    raise EOFError
                stream.ops -= _WEIGHT[key[0]]
                if stream.ops < 0:
                    raise UnsafePickleError(f"more than {MAX_OPS} pickle operations (objects to build)")
                dispatch[key[0]](self)  # type: ignore[arg-type]
        except pickle._Stop as stop:  # type: ignore[attr-defined]
            return stop.value

    # --- every length read from the stream, checked before anything is allocated ------------------

    def _value(self, size: int) -> bytes | Skipped:
        if size > MAX_VALUE_BYTES or size > self.stream.kept:
            left = size
            while left > 0:
                chunk = self.read(min(left, _CHUNK))
                if not chunk:
                    raise UnsafePickleError(f"a {size}-byte value ends early (truncated file?)")
                left -= len(chunk)
            return Skipped(size)
        data = self.read(size)
        if len(data) < size:
            raise UnsafePickleError(f"a {size}-byte value ends early (truncated file?)")
        self.stream.kept -= size
        return bytes(data)

    def _length(self, fmt: str) -> int:
        (size,) = struct.unpack(fmt, self.read(struct.calcsize(fmt)))
        if size < 0:
            raise UnsafePickleError("negative length")
        return int(size)

    def load_frame(self) -> None:
        size = self._length("<Q")
        if size > MAX_FRAME:
            raise UnsafePickleError(f"a pickle frame of {size} bytes (more than {MAX_FRAME})")
        self._unframer.load_frame(size)

    def load_binbytes(self) -> None:
        self.append(self._value(self._length("<I")))

    def load_binbytes8(self) -> None:
        self.append(self._value(self._length("<Q")))

    def load_bytearray8(self) -> None:
        value = self._value(self._length("<Q"))
        self.append(bytearray(value) if isinstance(value, bytes) else value)

    def _text(self, fmt: str) -> None:
        value = self._value(self._length(fmt))
        self.append(str(value, "utf-8", "surrogatepass") if isinstance(value, bytes) else value)

    def load_binunicode(self) -> None:
        self._text("<I")

    def load_binunicode8(self) -> None:
        self._text("<Q")

    def _binstring(self) -> None:
        value = self._value(self._length("<i"))
        self.append(self._decode_string(value) if isinstance(value, bytes) else value)  # type: ignore[attr-defined]

    def load_long4(self) -> None:
        size = self._length("<i")
        if size > MAX_LONG:
            raise UnsafePickleError(f"an integer of {size} bytes (more than {MAX_LONG})")
        self.append(pickle.decode_long(self.read(size)))

    for _op, _load in ((pickle.FRAME, load_frame), (pickle.BINBYTES, load_binbytes),
                       (pickle.BINBYTES8, load_binbytes8), (pickle.BYTEARRAY8, load_bytearray8),
                       (pickle.BINUNICODE, load_binunicode), (pickle.BINUNICODE8, load_binunicode8),
                       (pickle.LONG4, load_long4)):
        dispatch[_op[0]] = _load  # type: ignore[assignment]

    def find_class(self, module: str, name: str) -> type[Stub]:
        if module in _PYTHON2_MODULES:
            self._mark_python2(f"it names {module}.{name}")
        return stub_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("the pickle refers to persistent objects outside the stream")

    def load_build(self) -> None:
        stack = self.stack
        state = stack.pop()
        inst = stack[-1]
        if isinstance(inst, Stub):
            inst.__setstate__(state)
        elif isinstance(inst, dict) and isinstance(state, dict):
            inst.update(state)
        if isinstance(inst, Stub):
            array = self._as_array(inst)
            if array is not None:
                stack[-1] = array

    dispatch[pickle.BUILD[0]] = load_build  # type: ignore[assignment]

    def load_reduce(self) -> None:
        stack = self.stack
        args = stack.pop()
        func = stack[-1]
        stack[-1] = func(*args)  # func is always a Stub class: this only records the arguments
        inst = stack[-1]
        # protocol 5: numpy arrays are `_frombuffer(buffer, dtype, shape, order)`
        if isinstance(inst, Stub) and inst.qualname == "_frombuffer" and inst.module.startswith("numpy") \
                and len(inst.args) >= 3:
            info = dtype_info(inst.args[1]) or DTypeInfo("V", 0)
            raw = inst.args[0]
            values = _ints(bytes(raw), info) if isinstance(raw, bytes | bytearray) else None
            stack[-1] = Array(info, tuple(int(d) for d in inst.args[2]), values)

    dispatch[pickle.REDUCE[0]] = load_reduce  # type: ignore[assignment]

    # STRING, BINSTRING, SHORT_BINSTRING hold Python 2's `str`: Python 3 never writes them.
    def load_string(self) -> None:
        self._mark_python2("it holds Python 2 strings")
        pickle._Unpickler.load_string(self)  # type: ignore[attr-defined]

    def load_binstring(self) -> None:
        self._mark_python2("it holds Python 2 strings")
        self._binstring()  # its length checked, as every length is

    def load_short_binstring(self) -> None:
        self._mark_python2("it holds Python 2 strings")
        pickle._Unpickler.load_short_binstring(self)  # type: ignore[attr-defined]

    dispatch[pickle.STRING[0]] = load_string  # type: ignore[assignment]
    dispatch[pickle.BINSTRING[0]] = load_binstring  # type: ignore[assignment]
    dispatch[pickle.SHORT_BINSTRING[0]] = load_short_binstring  # type: ignore[assignment]

    def _mark_python2(self, why: str) -> None:
        if self.python2 is None:
            self.python2 = why

    def _as_array(self, inst: Stub) -> Array | None:
        if inst.qualname == "NumpyArrayWrapper" and inst.module.startswith("joblib"):
            return self._read_joblib_array(inst.attrs())
        if inst.qualname == "_reconstruct" and inst.module.startswith("numpy"):
            # ndarray state: (version, shape, dtype, is_fortran, raw bytes or list of objects)
            st = inst.state
            if isinstance(st, tuple) and len(st) == 5:
                info = dtype_info(st[2]) or DTypeInfo("V", 0)
                raw = st[4]
                values = list(raw) if isinstance(raw, list) else (
                    _ints(raw, info) if isinstance(raw, bytes) else None)
                return Array(info, tuple(st[1]), values)
        return None

    def _read_joblib_array(self, attrs: dict[str, Any]) -> Array:
        info = dtype_info(attrs.get("dtype")) or DTypeInfo("V", 0)
        shape = tuple(int(d) for d in attrs.get("shape", ()))
        count = 1
        for d in shape:
            count *= d
        if info.kind == "O":
            # object arrays are a nested pickle right here in the stream
            inner = SafeUnpickler(self.stream).load()
            values = inner.values if isinstance(inner, Array) else None
            return Array(info, shape, values)
        if attrs.get("numpy_array_alignment_bytes") is not None:
            pad = self.stream.read(1)
            if pad and pad[0]:
                self.stream.read(pad[0])
        size = count * info.itemsize
        data = _read_exactly(self.stream, size)
        return Array(info, shape, _ints(data, info) if size <= MAX_KEPT_BYTES else None)


def _ints(data: bytes, info: DTypeInfo) -> list[Any] | None:
    """Values of a small little-endian integer or bool array (what column indices and labels use)."""
    if info.kind not in "iub" or info.itemsize not in (1, 2, 4, 8) or len(data) > MAX_KEPT_BYTES:
        return None
    step, signed = info.itemsize, info.kind == "i"
    return [int.from_bytes(data[i:i + step], "little", signed=signed) for i in range(0, len(data), step)]


def _read_exactly(stream: BudgetStream, size: int) -> bytes:
    chunks = []
    left = size
    while left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            raise UnsafePickleError("array data ends early (truncated file?)")
        if size <= MAX_KEPT_BYTES:
            chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def open_pickle_stream(path: Path) -> BudgetStream:
    """The decompressed byte stream of a pickle or (compressed) joblib file, with its budget: at most
    256 MiB + 64 times the file's size is ever inflated (a gzip bomb stops there, not at the disk's end)."""
    raw = open_regular(path)  # a FIFO or a link to /dev/zero: refused, not read forever
    try:
        head = raw.read(6)
        raw.seek(0)
        size = os.fstat(raw.fileno()).st_size
        stream: IO[bytes]
        if head.startswith(b"\x1f\x8b"):
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        elif head.startswith(b"BZh"):
            stream = bz2.BZ2File(raw, "rb")
        elif head.startswith(b"\xfd7zXZ") or head.startswith(b"\x5d\x00\x00"):
            stream = lzma.LZMAFile(raw, "rb")  # noqa: SIM115 - closed with the stream it returns
        elif head[:1] == b"\x78":  # joblib's zlib: one zlib stream, inflated as it is read
            stream = io.BufferedReader(_ZlibReader(raw), 1 << 20)
        else:
            stream = raw
    except BaseException:
        raw.close()
        raise
    return BudgetStream(_Closing(stream, raw), DECOMPRESSED_BASE + DECOMPRESSED_RATIO * size)


class _Closing(io.RawIOBase):
    """A decompressing stream that also closes the file it reads (GzipFile(fileobj=) does not)."""

    def __init__(self, stream: IO[bytes], raw: IO[bytes]) -> None:
        self._stream, self._raw = stream, raw

    def read(self, n: int | None = -1) -> bytes:
        return self._stream.read(-1 if n is None else n)

    def readline(self, size: int | None = -1) -> bytes:
        return self._stream.readline(-1 if size is None else size)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._raw.close()
            super().close()


class _ZlibReader(io.RawIOBase):
    """A zlib stream read incrementally, like gzip.open does for gzip."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._inflate.eof:
            data = self._inflate.unconsumed_tail or self._raw.read(1 << 16)
            if not data:
                raise zlib.error("the compressed data ends early")
            self._pending = self._inflate.decompress(data, len(view))
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def load(path: Path) -> Any:
    """The object tree of a pickle/joblib file, made of stubs, arrays and plain Python values."""
    return load_marked(path)[0]


def load_marked(path: Path) -> tuple[Any, str | None]:
    """``load``, plus what shows the pickle was written by Python 2 (None when nothing does)."""
    with open_pickle_stream(path) as stream:
        unpickler = SafeUnpickler(stream)
        try:
            return unpickler.load(), unpickler.python2
        except UnsafePickleError:
            raise
        except EOFError:
            raise UnsafePickleError("the pickle ends early (truncated or empty file)") from None
        except (pickle.UnpicklingError, OSError, lzma.LZMAError, zlib.error, struct.error) as exc:
            raise UnsafePickleError(f"not a readable pickle (truncated or corrupt?): {exc}") from None
        except (IndexError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            if unpickler.python2 is not None:  # Python 3 cannot decode its strings and arrays as written
                raise UnsafePickleError(python2_message(unpickler.python2)) from None
            raise UnsafePickleError(f"pickle stream is malformed: {type(exc).__name__}: {exc}") from None


def python2_message(why: str) -> str:
    return (f"a Python 2 pickle ({why}): written by Python 2, which no Python 3 runtime loads as it is; "
            "re-save the model with Python 3")
