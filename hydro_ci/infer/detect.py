"""Finding the model files in a folder and telling their format by content, not only by name.

Only the first bytes of each file are read (zip directories aside), so scanning a folder with no
model in it stays cheap. A file whose name promises a format (``model.onnx``) is reported as that
format even when its bytes disagree, so that its reader can say precisely what is wrong with it.
"""

from __future__ import annotations

import enum
import os
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hydro_ci.contract.payload import Refusal, resolve_inside
from hydro_ci.errors import ModelFileError
from hydro_ci.infer.reading import open_zip
from hydro_ci.input_files import open_regular


class Format(enum.Enum):
    # value = (framework name printed by `contract infer`, priority when a folder holds several)
    saved_model = ("tensorflow", 0)
    keras = ("keras", 1)
    keras_h5 = ("keras", 2)
    onnx = ("onnx", 3)
    torch_export = ("torch", 4)
    torchscript = ("torch", 5)
    sklearn = ("sklearn", 6)
    spark = ("spark", 7)

    @property
    def framework(self) -> str:
        return self.value[0]

    @property
    def priority(self) -> int:
        return self.value[1]


@dataclass(frozen=True)
class ModelFile:
    path: Path  # the file to read; for Spark the pipeline folder
    format: Format


SAVED_MODEL_NAMES = ("saved_model.pb", "saved_model.pbtxt")
SPARK_METADATA = Path("metadata") / "part-00000"
PYTHON_ENTRY = Path("src") / "func_main.py"
MAX_DEPTH = 2  # the folder itself and one level below (e.g. `export/1/saved_model.pb` is too deep)
# Folders that hold parts of a model (weights, assets) or code, never a model of their own.
SKIP_DIRS = frozenset({"variables", "assets", "src", "stages", "data", "metadata", "__pycache__",
                       "node_modules", "fingerprint"})
MAX_FILES = 2000  # bound the scan of a huge payload

_BY_SUFFIX = {
    ".onnx": Format.onnx,
    ".keras": Format.keras,
    ".h5": Format.keras_h5,
    ".hdf5": Format.keras_h5,
    ".pt2": Format.torch_export,
    ".pt": Format.torchscript,
    ".pth": Format.torchscript,
    ".joblib": Format.sklearn,
    ".pkl": Format.sklearn,
    ".pickle": Format.sklearn,
}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
# Compressed joblib files start with a compressor's magic (zlib, gzip, bz2, xz, lzma).
_COMPRESSED_MAGICS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b", b"BZh",
                      b"\xfd7zXZ", b"\x5d\x00\x00")
_ONNX_SECOND_FIELDS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})


def find_model_files(root: Path) -> list[ModelFile]:
    """Model files under ``root`` (a folder or one file), most important format first."""
    if root.is_file():
        fmt = sniff(root)
        return [ModelFile(root, fmt)] if fmt else []
    found: list[ModelFile] = []
    seen = 0
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        if (here / SPARK_METADATA).is_file() and not (here / SPARK_METADATA).is_symlink():
            found.append(ModelFile(here, Format.spark))
        dirnames[:] = sorted(
            d for d in dirnames if depth + 1 < MAX_DEPTH and not d.startswith(".") and d not in SKIP_DIRS
        )
        for name in sorted(filenames):
            seen += 1
            if seen > MAX_FILES:
                break
            if not _stays_inside(real_root, here / name):
                continue  # a link out of the folder (~/.docker/config.json) is never read
            fmt = sniff(here / name)
            if fmt is not None:
                found.append(ModelFile(here / name, fmt))
    found.sort(key=lambda m: (m.format.priority, len(m.path.parts), str(m.path)))
    return found


def find_model_files_in(roots: Iterable[Path]) -> list[ModelFile]:
    """Model files under each of ``roots`` (files or folders: what one model's payload ships), most
    important format first, as ``find_model_files`` orders them."""
    found = {m.path: m for root in roots for m in find_model_files(root)}
    return sorted(found.values(), key=lambda m: (m.format.priority, len(m.path.parts), str(m.path)))


def has_python_entry(root: Path) -> bool:
    return root.is_dir() and (root / PYTHON_ENTRY).is_file()


def sniff(path: Path) -> Format | None:
    """The model format of one file, by content first and by name second; None if not a model."""
    if not _is_regular(path):
        return None  # a FIFO or a device (/dev/zero) would block or never end when read
    if path.name in SAVED_MODEL_NAMES:
        return Format.saved_model
    try:
        with open_regular(path) as f:
            head = f.read(8)
    except OSError:
        return _BY_SUFFIX.get(path.suffix.lower())
    by_name = _BY_SUFFIX.get(path.suffix.lower())
    if head.startswith(_HDF5_MAGIC):
        return Format.keras_h5
    if head.startswith(_ZIP_MAGIC):
        return _sniff_zip(path) or by_name
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return Format.sklearn  # a pickle (protocol 2-5), as joblib and pickle write them
    if by_name is Format.sklearn and head.startswith(_COMPRESSED_MAGICS):
        return Format.sklearn
    if by_name is None and len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 30 \
            and head[2] in _ONNX_SECOND_FIELDS:
        return Format.onnx  # ModelProto starts with ir_version, then producer or graph fields
    return by_name


def _stays_inside(real_root: str, path: Path) -> bool:
    """A file, or a symlink whose target is a regular file inside the folder (not into .git)."""
    if not path.is_symlink():
        return True
    return not isinstance(resolve_inside(real_root, str(path), path.name), Refusal)


def _is_regular(path: Path) -> bool:
    """True for a regular file (through symlinks); a dangling link counts, so its reader says so."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return path.is_symlink()
    except OSError:
        return True  # e.g. a symlink loop: let the reader report it


def _sniff_zip(path: Path) -> Format | None:
    try:
        with open_zip(path) as z:
            names = z.namelist()
    # a damaged directory, a zip version or compression zipfile does not know, a directory too large
    # to read (its reader says so when the name promises a model): not a zip model
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zipfile.BadZipFile,
            ModelFileError):
        return None
    base = {n.rsplit("/", 1)[-1] for n in names}
    if "config.json" in names and ("metadata.json" in names or "model.weights.h5" in names):
        return Format.keras
    if "archive_format" in base or any("/models/" in n and n.endswith(".json") for n in names):
        return Format.torch_export
    if "data.pkl" in base:
        return Format.torchscript  # TorchScript or a plain torch.save archive
    return None
