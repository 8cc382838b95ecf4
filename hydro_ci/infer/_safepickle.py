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
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

MAX_KEPT_BYTES = 1 << 20  # values of numeric arrays larger than this are skipped, not decoded


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


# Modules only Python 2 had (Python 3 renamed them): a pickle naming them was written by Python 2.
_PYTHON2_MODULES = frozenset({"copy_reg", "__builtin__", "exceptions", "Queue", "cPickle"})


class SafeUnpickler(pickle._Unpickler):  # the pure-Python unpickler: its opcodes can be overridden
    dispatch = pickle._Unpickler.dispatch.copy()

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self.stream = file
        self.python2: str | None = None  # what shows the stream was written by Python 2

    def find_class(self, module: str, name: str) -> type[Stub]:
        if module in _PYTHON2_MODULES:
            self._mark_python2(f"it names {module}.{name}")
        return stub_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("the pickle refers to persistent objects outside the stream")

    def load_build(self) -> None:
        stack = self.stack  # type: ignore[attr-defined]
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
        stack = self.stack  # type: ignore[attr-defined]
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
        pickle._Unpickler.load_binstring(self)  # type: ignore[attr-defined]

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


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
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


def open_pickle_stream(path: Path) -> IO[bytes]:
    """The decompressed byte stream of a pickle or (compressed) joblib file."""
    with path.open("rb") as f:
        head = f.read(6)
    if head.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a binary file object
    if head.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if head.startswith(b"\xfd7zXZ") or head.startswith(b"\x5d\x00\x00"):
        return lzma.open(path, "rb")
    if head[:1] == b"\x78":  # joblib's zlib: one zlib stream, inflated as it is read (never whole:
        return io.BufferedReader(_ZlibReader(path.open("rb")), 1 << 20)  # a bomb would fill memory)
    return io.BytesIO(path.read_bytes())


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
        except (pickle.UnpicklingError, OSError, lzma.LZMAError, zlib.error) as exc:
            raise UnsafePickleError(f"not a readable pickle (truncated or corrupt?): {exc}") from None
        except (IndexError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            if unpickler.python2 is not None:  # Python 3 cannot decode its strings and arrays as written
                raise UnsafePickleError(python2_message(unpickler.python2)) from None
            raise UnsafePickleError(f"pickle stream is malformed: {type(exc).__name__}: {exc}") from None


def python2_message(why: str) -> str:
    return (f"a Python 2 pickle ({why}): written by Python 2, which no Python 3 runtime loads as it is; "
            "re-save the model with Python 3")
