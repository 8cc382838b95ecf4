"""Attack: a small hostile file crashes hydro-ci or eats the build machine's memory or time.

Each file below used to end in a traceback (exit 3), a MemoryError or gigabytes of RAM. Every walker
over a parsed document is now depth-bounded, every length read from a file is checked against the
bytes that back it before anything is allocated, every decompression is bounded, and a user's
template renders in a child process with CPU and memory limits. Each case ends in one error line
(exit 1), within the stated memory: commands run in a subprocess whose peak RSS is measured (wait4),
under an address-space limit (RLIMIT_AS) so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import make_model, one_error, run

RSS_BOUND_MB = 700  # what reading any one hostile file below may peak at (measured: ~580 MB worst)
AS_LIMIT = 3 << 30  # the safety net: main took 3.1-6.4 GB on these files


def _peak(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """Run in a fresh helper so RUSAGE_CHILDREN's maximum is this command's alone."""
    code = (
        "import os, resource, subprocess, sys\n"
        f"limit = {AS_LIMIT}\n"
        "p = subprocess.run([sys.executable, '-m', 'hydro_ci', *sys.argv[1:]], capture_output=True,\n"
        "                   text=True,\n"
        "                   preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "sys.stderr.write(p.stderr)\n"
        "print(peak)\n"
        "sys.exit(p.returncode)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stderr, int(proc.stdout.strip() or 0)


def assert_one_bounded_error(args: list[str], cwd: Path, words: str) -> None:
    code, err, peak = _peak(args, cwd)
    assert code == 1 and "Traceback" not in err, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("error:") or ": error: " in line]
    assert len(lines) == 1 and words in lines[0], err[-2000:]
    assert peak < RSS_BOUND_MB, f"peak RSS {peak} MB"


# --- YAML and JSON: depth ---------------------------------------------------------------------------


def alias_chain(anchors: int = 10, levels: int = 60) -> str:
    """1.5 KB: ten anchors of 60 levels, each holding the previous one: 600 levels once expanded."""
    lines = ["  - &a0 " + "[" * levels + "1" + "]" * levels]
    lines += [f"  - &a{i} " + "[" * (levels - 1) + f"*a{i - 1}" + "]" * (levels - 1)
              for i in range(1, anchors)]
    return "monitoring:\n  chain:\n" + "\n".join("  " + line for line in lines) + "\n"


@pytest.mark.parametrize("command", [
    ["contract", "check", "model"], ["contract", "show", "model"], ["render", "model", "--output", "ctx"],
    ["version", "next", "model", "--bump", "patch"], ["pipeline", "model"],
])
def test_a_yaml_alias_chain_is_one_located_error_in_every_command(tmp_path: Path, command: list[str]) -> None:
    folder = make_model(tmp_path)
    with (folder / "serving.yaml").open("a") as f:
        f.write(alias_chain())
    assert len(alias_chain()) < 2100
    proc = run(command, tmp_path)
    line = one_error(proc) if command[1:2] != ["check"] else proc.stdout.splitlines()[0]
    assert proc.returncode == 1 and "model/serving.yaml:" in line and "[yaml-limits]" in line, proc.stderr


def test_a_deep_flow_collection_is_refused_where_it_passes_the_limit(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "serving.yaml").write_text("kind: Model\nname: m\nx: " + "[" * 500_000 + "\n")
    proc = run(["contract", "check", "model"], tmp_path)
    assert proc.returncode == 1 and "serving.yaml:3:68: error: nested deeper than 64 levels" in proc.stdout


def test_matrix_reads_serving_yaml_with_the_bounded_reader(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "serving.yaml").write_text("kind: Model\nname: m\nx: " + "[" * 900 + "]" * 900 + "\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    proc = run(["matrix", "--format", "lines"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.split() == ["model"], proc.stderr


def deep_json(depth: int = 100_000) -> str:
    return '{"name": "m", "signatures": ' + "[" * depth + "]" * depth + "}"


def test_deep_json_in_a_contract_file_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "OLD.json").write_text(deep_json())
    folder = make_model(tmp_path)
    line = one_error(run(["contract", "diff", "OLD.json", str(folder)], tmp_path))
    assert "OLD.json: not JSON (nested deeper than 200 levels)" in line


@pytest.mark.parametrize("depth", [800, 100_000])  # below and above the C decoder's own limit
def test_deep_json_in_a_contract_label_is_one_error(depth: int) -> None:
    from hydro_ci.errors import ContractError
    from hydro_ci.version.contracts import contract_from_json_text

    with pytest.raises(ContractError, match="nested deeper than 200 levels"):
        contract_from_json_text(deep_json(depth), "registry.example.com/m:1.0.0 label io.hydro-ci.contract")


# --- model files: lengths checked, decompression bounded ------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


FRAME_2_40 = b"\x80\x04\x95" + struct.pack("<Q", 1 << 40)  # FRAME: a 1 TiB frame follows
BINBYTES8_2_40 = b"\x80\x04\x8e" + struct.pack("<Q", 1 << 40)  # BINBYTES8: a 1 TiB bytes value follows


@pytest.mark.parametrize(("data", "words"), [
    (zlib.compress(FRAME_2_40), "a pickle frame of 1099511627776 bytes"),
    (gzip.compress(FRAME_2_40, mtime=0), "a pickle frame of 1099511627776 bytes"),
    (zlib.compress(BINBYTES8_2_40), "value ends early"),
    (FRAME_2_40, "a pickle frame of 1099511627776 bytes"),
    (b"\x80\x04\x8b" + struct.pack("<i", 1 << 30), "an integer of 1073741824 bytes"),
    (b"\x80\x04\x8e\x01", "not a readable pickle"),  # a length cut short
], ids=["zlib-frame", "gzip-frame", "zlib-binbytes8", "plain-frame", "long4", "truncated-length"])
def test_a_tiny_joblib_claiming_a_huge_length_is_one_error(tmp_path: Path, data: bytes, words: str) -> None:
    assert len(data) <= 32
    _write(tmp_path / "model.joblib", data)
    assert_one_bounded_error(["contract", "infer", "model.joblib"], tmp_path, words)


def test_a_gzip_pickle_bomb_stops_at_the_decompression_bound(tmp_path: Path) -> None:
    """3 MB on disk, a 3 GiB bytes value inside: read through up to 256 MiB + 64 x the file, never held."""
    chunk = gzip.compress(bytes(16 << 20), compresslevel=9, mtime=0)  # gzip members concatenate
    size = 3 << 30
    head = gzip.compress(b"\x80\x04\x8e" + struct.pack("<Q", size), mtime=0)
    tail = gzip.compress(b".", mtime=0)
    path = _write(tmp_path / "model.joblib", head + chunk * (size // (16 << 20)) + tail)
    assert path.stat().st_size < 4 << 20
    assert_one_bounded_error(["contract", "infer", "model.joblib"], tmp_path, "once decompressed")


def test_millions_of_small_pickle_objects_are_bounded(tmp_path: Path) -> None:
    _write(tmp_path / "model.joblib", gzip.compress(b"\x80\x04" + b"]" * 9_000_000 + b".", mtime=0))
    assert_one_bounded_error(["contract", "infer", "model.joblib"], tmp_path, "pickle operations")


def test_a_keras_archive_with_a_huge_config_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("metadata.json", "{}")
        with z.open("config.json", "w", force_zip64=True) as f:
            f.write(b'{"class_name": "Sequential", "config": {"layers": [')
            for _ in range(80):
                f.write(b"[]," * (1 << 20))
            f.write(b"[]]}}")
    assert path.stat().st_size < 300_000
    assert_one_bounded_error(["contract", "infer", "model.keras"], tmp_path, "bytes uncompressed")


def test_the_largest_keras_config_read_stays_in_bounds(tmp_path: Path) -> None:
    """Just under the member bound (16 MiB) of the worst JSON for memory: read, then refused as
    not a model, within the RSS bound."""
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", b'{"class_name": "Sequential", "config": {"layers": [' + b"[]," * 5_500_000
                   + b"[]]}}")
    assert_one_bounded_error(["contract", "infer", "model.keras"], tmp_path, "model.keras")


def zip_directory(entries: int, *, declared: int | None = None, zip64: bool = False) -> bytes:
    """A zip that is mostly a central directory: config.json, metadata.json and ``entries - 2`` more
    (47 bytes each, no data behind them: zipfile reads nothing else on open). ``declared`` is the
    count its end record states; ``zip64`` puts that count in a zip64 end record."""
    def entry(name: bytes) -> bytes:
        fixed = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, *[0] * 7, len(name), *[0] * 6)
        return fixed + name

    directory = entry(b"config.json") + entry(b"metadata.json") + entry(b"w") * (entries - 2)
    count = entries if declared is None else declared
    tail = b""
    if zip64:
        tail = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), 0)
        tail += struct.pack("<4sLQL", b"PK\x06\x07", 0, len(directory), 1)
        count = 0xFFFF
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                      min(len(directory), 0xFFFFFFFF), 0, 0)
    # a local header first, as every zip starts: what sniffing a file of any name looks for
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *[0] * 9) + directory + tail + end


@pytest.mark.parametrize("name", ["model.keras", "model.pt2"])
def test_a_zip_directory_of_millions_of_entries_is_refused_before_it_is_read(tmp_path: Path,
                                                                             name: str) -> None:
    """118 MB of directory (2.5 M entries): zipfile made an object of each (main: ~930 MB, 13 s)."""
    _write(tmp_path / name, zip_directory(2_500_000))
    started = time.monotonic()
    assert_one_bounded_error(["contract", "infer", name], tmp_path, "zip directory is 117500")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("entries, declared, zip64, words", [
    (300_000, 2, False, "holds more than 100000 entries"),  # 14 MB: the end record says 2
    (3, 1 << 40, True, "lists 1099511627776 entries"),  # a zip64 record claiming 2^40 entries
])
def test_a_zip_directory_holding_or_declaring_too_many_entries_is_one_error(
        tmp_path: Path, entries: int, declared: int, zip64: bool, words: str) -> None:
    _write(tmp_path / "model.keras", zip_directory(entries, declared=declared, zip64=zip64))
    assert_one_bounded_error(["contract", "infer", "model.keras"], tmp_path, words)


@pytest.mark.parametrize("name, words", [
    ("model.pt2", "model.pt2: its zip directory is 117500"),  # the name promises a model: located
    ("weights.bin", "no model file found"),  # sniffed: a zip too large to look into is not a model
])
def test_a_folder_holding_a_huge_zip_directory_is_bounded(tmp_path: Path, name: str, words: str) -> None:
    _write(tmp_path / "model" / name, zip_directory(2_500_000))
    assert_one_bounded_error(["contract", "infer", "model"], tmp_path, words)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _onnx(graph: bytes) -> bytes:
    return b"\x08\x07" + b"\x3a" + _varint(len(graph)) + graph  # ir_version 7, graph


def _onnx_dims(count: int) -> bytes:
    """One graph input whose shape lists ``count`` empty dimensions."""
    shape = b"\x12" + _varint(2 * count) + b"\x0a\x00" * count
    tensor = b"\x08\x01" + shape
    kind = b"\x0a" + _varint(len(tensor)) + tensor  # TypeProto.tensor_type
    value = b"\x0a\x01x" + b"\x12" + _varint(len(kind)) + kind  # ValueInfoProto: name, type
    return _onnx(b"\x5a" + _varint(len(value)) + value)


# The inputs are built when a case runs (not at collection: 50 MB each), and the cases have short ids:
# pytest 8 spells a bytes parameter out in the id, and PYTEST_CURRENT_TEST carries it into every
# child's environment (a 50 MB variable: E2BIG).
@pytest.mark.parametrize("name, make, words", [
    # 50 MB of empty initializers (2 bytes each): main built 25 M messages, 1.1 GB, 6 s
    ("model.onnx", lambda: _onnx(b"\x2a\x00" * 25_000_000), "the ONNX model holds more than 1000000 entries"),
    ("model.onnx", lambda: _onnx_dims(5_000_000), "the ONNX model holds more than 1000000 entries"),
    # 20 M empty nodes (unknown to our schema: protobuf keeps their bytes, the walk steps over them)
    ("model.onnx", lambda: _onnx(b"\x0a\x00" * 20_000_000), "the ONNX model has more than 4000000 fields"),
    # a SavedModel of 25 M empty meta graphs
    ("saved_model.pb", lambda: b"\x12\x00" * 25_000_000, "the SavedModel holds more than 1000000 entries"),
], ids=["onnx-initializers", "onnx-dims", "onnx-nodes", "savedmodel-meta-graphs"])
def test_a_protobuf_of_millions_of_tiny_entries_is_refused_before_it_is_parsed(
        tmp_path: Path, name: str, make: Callable[[], bytes], words: str) -> None:
    _write(tmp_path / "model" / name, make())
    started = time.monotonic()
    assert_one_bounded_error(["contract", "infer", "model"], tmp_path, words)
    assert time.monotonic() - started < 20


def test_a_legacy_h5_with_a_huge_model_config_is_one_error(tmp_path: Path) -> None:
    """HDF5 attributes are not compressed, but the .h5 reader had no bound at all: a 40 MB
    model_config of ``[],`` took ~1.2 GB as JSON. It is read in a limited child now, at most 16 MiB."""
    h5py = pytest.importorskip("h5py")
    config = b'{"class_name": "Sequential", "config": {"layers": [' + b"[]," * 14_000_000 + b"[]]}}"
    with h5py.File(tmp_path / "model.h5", "w", libver="latest") as f:
        f.attrs.create("model_config", data=config, dtype=h5py.string_dtype("utf-8", len(config)))
    assert_one_bounded_error(["contract", "infer", "model.h5"], tmp_path, "model_config is 42000056 bytes")


# --- templates: the sandbox's work is bounded ------------------------------------------------------------


def _template(tmp_path: Path, body: str) -> Path:
    folder = make_model(tmp_path)
    (folder / "ci").mkdir()
    (folder / "ci" / "Dockerfile.j2").write_text(
        '{% extends "hydro-ci/Dockerfile.j2" %}\n{% block extra %}\n' + body + "\n{% endblock %}\n")
    with (folder / "serving.yaml").open("a") as f:
        f.write("  template: ci\n")
    return folder


@pytest.mark.parametrize(("body", "words"), [
    ("# {{ range(100001)|length }}", "Dockerfile.j2:3: Range too big"),
    ('# {{ ("x" * 1000000000)|length }}', "needs more than 512 MiB of memory"),
    ("{% for a in range(2000) %}{{ 'x' * 1000 }}{% endfor %}", "renders more than 1048576 characters"),
])
def test_a_template_that_asks_too_much_is_one_error(tmp_path: Path, body: str, words: str) -> None:
    _template(tmp_path, body)
    assert words in one_error(run(["render", "model", "--output", "ctx"], tmp_path))


def test_a_template_that_never_ends_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hydro_ci.errors import TemplateError
    from hydro_ci.render import dockerfile
    from hydro_ci.render.assemble import RenderOptions, load_folder, render_folder

    monkeypatch.setattr(dockerfile, "RENDER_CPU_SECONDS", 1)  # 10 in use
    folder = _template(tmp_path, "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}"
                                 "{% endfor %}")
    with pytest.raises(TemplateError, match="used more than 1 s of CPU"):
        render_folder(load_folder(folder), RenderOptions(output=tmp_path / "ctx", epoch=0))


# --- model structures: long graphs and deep nesting walked without recursion ----------------------------


def test_a_keras_2_graph_of_1500_chained_layers_is_read(tmp_path: Path) -> None:
    """Keras 2 records no shapes, so outputs are propagated through the graph; a long chain (big real
    models have hundreds of layers) used to recurse once per layer."""
    import json

    layers = [{"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
               "config": {"name": "in", "batch_input_shape": [None, 4], "dtype": "float32"}}]
    for i in range(1500):
        layers.append({"class_name": "Dense", "name": f"d{i}", "config": {"name": f"d{i}", "units": 4},
                       "inbound_nodes": [[[layers[-1]["name"], 0, 0, {}]]]})
    config = {"class_name": "Functional", "config": {"name": "m", "layers": layers,
                                                      "input_layers": [["in", 0, 0]],
                                                      "output_layers": [["d1499", 0, 0]]}}
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as z:
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", json.dumps(config))
    proc = run(["contract", "infer", "model.keras", "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["signatures"][0]["outputs"][0]["shape"] == [-1, 4]
    # a graph that feeds a layer its own output is one error, not an endless loop
    layers[1]["inbound_nodes"] = [[["d1499", 0, 0, {}]]]
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as z:
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", json.dumps(config))
    assert "a cycle in the graph" in one_error(run(["contract", "infer", "model.keras"], tmp_path))


def test_pipelines_nested_thousands_deep_are_one_error(tmp_path: Path) -> None:
    # Pipeline(steps=[("s", Pipeline(steps=[("s", …)]))]) 5 000 deep, built by the unpickler's stack
    # per level: Pipeline() {} "steps" [ "s" <inner> (…) append setitem build
    opening = b"csklearn.pipeline\nPipeline\n)\x81}X\x05\x00\x00\x00steps]X\x01\x00\x00\x00s"
    ridge = b"csklearn.linear_model\nRidge\n)\x81}X\x0e\x00\x00\x00n_features_in_K\x03sb"
    data = b"\x80\x02" + opening * 5000 + ridge + b"\x86asb" * 5000 + b"."
    _write(tmp_path / "model.pkl", data)
    assert "estimators nested deeper than 100 levels" in one_error(run(["contract", "infer", "model.pkl"],
                                                                       tmp_path))


# --- .hydroignore: Docker's matcher backtracks ------------------------------------------------------


def _deep(folder: Path, levels: int, name: str = "a", files: int = 1) -> Path:
    deep = folder.joinpath(*[name] * levels)
    deep.mkdir(parents=True)
    for i in range(files):
        (deep / f"{name}{i}b").write_text("x")
    return deep


@pytest.mark.parametrize("pattern", [
    "*" * 40 + "x",  # one run of stars passed main's check: (.*/)? twenty times, minutes per path
    "*" * 20 + "a" + "*" * 20 + "b",  # two runs, against a path that ends as the pattern does
    "**/" * 30 + "*a*a",  # (main refused more than 4 wildcards; one pass now, so no need)
])
def test_a_hydroignore_pattern_docker_backtracks_on_costs_one_pass(tmp_path: Path, pattern: str) -> None:
    folder = make_model(tmp_path)
    _deep(folder, 20)
    (folder / ("a" * 250)).write_text("x")
    (folder / ".hydroignore").write_text(pattern + "\n")
    for args in (["render", "model", "--output", "ctx"], ["pipeline", "model", "--dry-run"]):
        started = time.monotonic()
        proc = run(args, tmp_path, timeout=90)  # main: still matching when the timeout struck
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert time.monotonic() - started < 60


def test_patterns_times_paths_stop_at_a_bound_in_one_located_line(tmp_path: Path) -> None:
    """Linear per path is not bounded per folder: a thousand patterns (each within every limit)
    over a hundred paths of 3 000 characters stop at the matcher's step budget, in seconds."""
    folder = make_model(tmp_path)
    _deep(folder, 14, "a" * 200, files=100)
    (folder / ".hydroignore").write_text(("*" * 8 + "a" + "*" * 8 + "b\n") * 1000)
    started = time.monotonic()
    line = one_error(run(["render", "model", "--output", "ctx"], tmp_path, timeout=120))  # main: > 120 s
    assert time.monotonic() - started < 60
    assert line.startswith(f"error: {folder / '.hydroignore'}: its patterns take too many steps"), line


def test_a_hydroignore_of_more_than_a_thousand_patterns_is_located(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / ".hydroignore").write_text("# ours\n" + "*.tmp\n" * 1001)
    line = one_error(run(["render", "model", "--output", "ctx"], tmp_path))
    assert line == f"error: {folder / '.hydroignore'}:1002: more than 1000 patterns"
