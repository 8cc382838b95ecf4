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


# --- the protobuf entry bound (hydro_ci.infer.reading.check_protobuf_size) -------------------------------


def _onnx_with(initializers: int, *, grouped: int = 0) -> bytes:
    from hydro_ci.infer._pb import onnx_pb

    model = onnx_pb.ModelProto(ir_version=7)
    model.graph.input.add(name="x").type.tensor_type.elem_type = 1
    model.graph.output.add(name="y").type.tensor_type.elem_type = 1
    for i in range(initializers):
        model.graph.initializer.add(name=f"w{i}")
    data = model.SerializeToString()
    # an unknown group (field 99) holding what would be initializers: protobuf keeps it as unknown bytes
    return data + b"\x9b\x06" + b"\x2a\x00" * grouped + b"\x9c\x06"


@pytest.mark.parametrize("initializers, grouped, refused", [(97, 0, False), (98, 0, True), (97, 500, False)])
def test_the_protobuf_bound_counts_the_entries_protobuf_builds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, initializers: int, grouped: int, refused: bool,
) -> None:
    """The input, the output and 97 initializers are 99 repeated entries: a 98th initializer is one
    too many; what an unknown group holds is not counted (protobuf keeps the group as bytes)."""
    from hydro_ci.infer import reading
    from hydro_ci.infer.onnx import read_onnx

    monkeypatch.setattr(reading, "MAX_PROTOBUF_ENTRIES", 99)
    path = tmp_path / "model.onnx"
    path.write_bytes(_onnx_with(initializers, grouped=grouped))
    if refused:
        with pytest.raises(ModelFileError, match="holds more than 99 entries"):
            read_onnx(path)
    else:
        assert read_onnx(path).signatures[0].inputs[0].name == "x"


def test_a_saved_model_without_serve_lists_ten_tag_sets_at_most(tmp_path: Path) -> None:
    from hydro_ci.infer._pb import tf_pb
    from hydro_ci.infer.savedmodel import read_saved_model

    saved = tf_pb.SavedModel()
    for i in range(5000):
        saved.meta_graphs.add().meta_info_def.tags.append(f"t{i}")
    (tmp_path / "saved_model.pb").write_bytes(saved.SerializeToString())
    with pytest.raises(ModelFileError, match="t9; … 5000 in all") as caught:
        read_saved_model(tmp_path / "saved_model.pb")
    assert len(str(caught.value)) < 300
