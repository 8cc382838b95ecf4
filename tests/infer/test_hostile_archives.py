"""Model files (.keras archives, text SavedModels) built to break the reader: one located error each."""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

import pytest

from hydro_ci.cli import main
from hydro_ci.errors import ModelFileError
from hydro_ci.infer import infer_folder
from hydro_ci.infer.check import check_model_folder

SEQUENTIAL = json.dumps({"class_name": "Sequential", "config": {"layers": []}})


def keras_file(path: Path, config: str | bytes = SEQUENTIAL) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", config)
        z.writestr("metadata.json", "{}")
    return path


def patched(path: Path, local_offset: int, central_offset: int, value: bytes, *, flag: bool = False) -> Path:
    """Overwrite a field of config.json's local header and central directory entry."""
    data = bytearray(path.read_bytes())
    for header, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        at = data.find(header) + offset
        if flag:
            data[at] |= value[0]
        else:
            data[at:at + len(value)] = value
    path.write_bytes(bytes(data))
    return path


def encrypted(path: Path) -> Path:
    return patched(keras_file(path), 6, 8, b"\x01", flag=True)


def unknown_compression(path: Path) -> Path:
    return patched(keras_file(path), 8, 10, struct.pack("<H", 93))  # 93 = zstd, not in zipfile


def deep_json(path: Path) -> Path:
    return keras_file(path, "[" * 100_000 + "]" * 100_000)


def bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", "{}")
        with z.open("config.json", "w", force_zip64=True) as f:
            for _ in range(300):
                f.write(b" " * (1 << 20))
    return path


@pytest.mark.parametrize(("make", "message"), [
    (encrypted, "cannot read config.json inside (corrupt, encrypted or unsupported zip?)"),
    (unknown_compression, "cannot read config.json inside (corrupt, encrypted or unsupported zip?)"),
    (deep_json, "model config is not JSON: nested deeper than 200 levels"),
    (bomb, "config.json inside is 314572800 bytes uncompressed"),
])
def test_hostile_keras_archive_is_one_error(tmp_path: Path, make: object, message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    model = make(tmp_path / "model.keras")  # type: ignore[operator]
    with pytest.raises(ModelFileError, match=re.escape(message)):
        infer_folder(model)
    assert main(["contract", "infer", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {model}: ") and "Traceback" not in err
    # and contract check, which compares a declared contract with the model file, only warns
    (tmp_path / "serving.yaml").write_text(
        'kind: Model\nruntime: "a/b:1"\ncontract:\n  inputs:\n    x: {shape: [-1], type: float32}\n'
        '  outputs:\n    y: {shape: [-1], type: float32}\n')
    [problem] = check_model_folder(tmp_path)
    assert problem.rule == "model-unreadable" and not problem.is_error


def test_deeply_nested_saved_model_text_is_one_error(tmp_path: Path) -> None:
    """protobuf's text parser recursed into a RecursionError traceback."""
    (tmp_path / "saved_model.pbtxt").write_text("meta_graphs { " + "x { " * 5000 + "}" * 5000 + " }")
    with pytest.raises(ModelFileError, match="not a SavedModel in text format: nested too deeply"):
        infer_folder(tmp_path)


# --- the zip directory bound (hydro_ci.infer.reading.open_zip) ------------------------------------------

FIXTURES = Path(__file__).parents[1] / "fixtures" / "models"


def _zips(tmp_path: Path) -> list[Path]:
    """Zips whose end record zipfile finds in each of its ways: plain, behind a comment, zip64 (more
    than 65 535 entries, or forced), with bytes before the archive, empty; and the fixtures."""
    made = []
    for name, entries, comment, zip64, prefix in [
            ("plain", 3, b"", False, b""), ("comment", 3, b"c" * 300, False, b""),
            ("many", 70_000, b"", False, b""), ("forced", 2, b"x", True, b""),
            ("prefixed", 3, b"", False, b"#!/bin/sh\n" * 50), ("empty", 0, b"", False, b"")]:
        path = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.comment = comment
            for i in range(entries):
                with z.open(f"m{i}", "w", force_zip64=zip64) as f:
                    f.write(b"1")
        if prefix:
            path.write_bytes(prefix + path.read_bytes())
        made.append(path)
    return made + sorted(FIXTURES.glob("*/model.keras")) + sorted(FIXTURES.glob("*/model.pt2"))


def test_the_zip_directory_bound_finds_the_directory_zipfile_reads(tmp_path: Path) -> None:
    """The bound is checked on the bytes zipfile then parses: same start, same size, same entries."""
    from hydro_ci.infer.reading import _central_directory, open_zip

    for path in _zips(tmp_path):
        with path.open("rb") as fh:
            found = _central_directory(fh)
        with zipfile.ZipFile(path) as z:
            expected = (len(z.infolist()), z.start_dir)
        assert found is not None and (found[0], found[1]) == expected, path.name
        with open_zip(path) as z:
            assert len(z.namelist()) == expected[0]


@pytest.mark.parametrize("name", ["keras_functional_keras/model.keras",
                                  "torch_export_dynamic_batch/model.pt2"])
def test_model_archives_are_read_through_the_bound(name: str) -> None:
    result = infer_folder(FIXTURES / name)
    assert result.contract.signatures[0].inputs
