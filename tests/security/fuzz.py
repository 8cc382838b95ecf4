"""``nox -s fuzz``: every parser of hostile input, fed mutated and random inputs by Hypothesis.

Each target reads what a model folder from a pull request can hold — serving.yaml (the whole
folder's rules), contract.prototxt, a JSON contract, .hydroignore, requirements files, and each model
reader (SavedModel .pb/.pbtxt, Keras .keras and its config, the .h5 file and its config, ONNX,
torch.export .pt2, scikit-learn pickle/joblib, Spark metadata). Inputs are fixtures and examples
mutated (bit flips, interesting bytes, cut, duplicated and spliced ranges, format tokens repeated) or
random bytes. Any exception that is not a ``HydroCIError`` (what the CLI renders as one ``error:``
line) is a crash: its input is saved and the run fails. The run prints each target's input count and
the total.

    python -m tests.security.fuzz [--budget N] [--target NAME ...] [--crashes DIR]

``--budget`` (or ``HYDRO_CI_FUZZ_BUDGET``) is the total number of inputs, shared equally by the targets.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hydro_ci.errors import HydroCIError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "models"
EXAMPLES = REPO / "examples"
DEFAULT_BUDGET = 20_000
SLOW_SECONDS = 10.0  # an input taking longer is reported (a hang would never end; this one did)


# --- mutation ----------------------------------------------------------------------------------


def mutate(seed: bytes, rng: random.Random, corpus: list[bytes], tokens: list[bytes]) -> bytes:
    """``seed`` changed in 1 to 6 places, the way fuzzers find the edges of a parser."""
    data = bytearray(seed)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(9)
        at = rng.randint(0, len(data))
        if op == 0 and data:  # flip a bit
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:  # an interesting byte
            data[rng.randrange(len(data))] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x22, 0x5B,
                                                         rng.randrange(256)))
        elif op == 2:  # random bytes
            data[at:at] = rng.randbytes(rng.randint(1, 16))
        elif op == 3 and data:  # cut a range
            end = min(len(data), at + rng.randint(1, max(1, len(data) // 4)))
            del data[at:end]
        elif op == 4 and data:  # duplicate a range somewhere else (nests, repeats)
            start = rng.randrange(len(data))
            chunk = data[start:start + rng.randint(1, 64)]
            data[at:at] = chunk * rng.choice((1, 1, 2, 8, 64))
        elif op == 5 and corpus:  # splice from another seed
            other = rng.choice(corpus)
            if other:
                start = rng.randrange(len(other))
                end = min(len(data), at + rng.randint(0, 64))
                data[at:end] = other[start:start + rng.randint(1, 256)]
        elif op == 6 and tokens:  # a token of the format
            data[at:at] = rng.choice(tokens)
        elif op == 7 and tokens:  # a token many times
            data[at:at] = rng.choice(tokens) * rng.choice((2, 16, 100, 1000))
        elif op == 8 and len(data) > 8:  # a length field made huge or negative
            i = rng.randrange(len(data) - 8)
            data[i:i + rng.choice((1, 2, 4, 8))] = rng.choice((b"\xff", b"\x7f\xff", b"\xff\xff\xff\x7f",
                                                               b"\x00\x00\x00\x00\x00\x01\x00\x00"))
    return bytes(data)


# --- targets ------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    seeds: list[bytes]
    run: Callable[[bytes, Path], object]  # (input, a scratch folder of its own)
    tokens: list[bytes] = field(default_factory=list)
    max_random: int = 512  # size of the random inputs (besides mutated seeds)


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _files(pattern: str, root: Path = FIXTURES) -> list[bytes]:
    return [p.read_bytes() for p in sorted(root.glob(pattern)) if p.is_file() and p.stat().st_size < 200_000]


YAML_TOKENS = [b"&a ", b"*a", b"<<: *a\n", b"[", b"{", b"]", b"}", b"!!python/object:os.system ", b"\n  ",
               b"- ", b": ", b"? ", b"!!binary ", b"'", b'"', b"|\n", b"\t", b"---\n", b"%YAML 1.1\n",
               b"\\u2028", b"~", b"0x", b"1e999", b"\x00", b"\xef\xbb\xbf", b"payload: [../]",
               b"hydro-ci:\n  env:\n"]
JSON_TOKENS = [b"[", b"{", b"]", b"}", b'"', b"1e999", b"-0", b"null", b"\\u0000", b"\\ud800", b",", b":",
               b'"subfields": [', b'"class_name": "Functional", ', b'"inbound_nodes": [[', b"NaN",
               b"Infinity"]
PICKLE_TOKENS = [*(bytes([op]) for op in range(0x28, 0x98)), b"\x95\xff\xff\xff\xff\xff\xff\xff\x7f",
                 b"\x8e\x00\x00\x00\x00\x01\x00\x00\x00", b"csklearn.x\nY\n", b"cos\nsystem\n",
                 b"\x80\x05"]
PROTO_TOKENS = [b"\x0a\xff\xff\xff\xff\x0f", b"\x12\x00", b"\x1a\x80\x80\x80\x80\x08",
                b"\xff\xff\xff\xff\xff"]
PROTOTXT_TOKENS = [b"inputs {", b"}", b"subfields { data {", b'name: "', b"dtype: DT_FLOAT ",
                   b"shape { dims: -2 }", b"\\n", b"\\000", b"#", b"<", b">"]
REQ_TOKENS = [b"-r ", b"-c ", b"-e ", b"./", b"../", b"/etc/passwd", b"${HOME}", b"git+https://x/y", b" @ ",
              b"file:///", b".whl", b".tar.gz", b"--find-links ", b"--no-binary :all:", b"\\\n", b" #", b";"]
H5_TOKENS = [b"\x89HDF\r\n\x1a\n", b"\xff" * 8, b"\x00" * 8, b"model_config", b"OHDR", b"TREE", b"HEAP",
             b"SNOD", b"GCOL", b"\x01\x00\x00\x00", b"\xff\xff\xff\x7f"]
IGNORE_TOKENS = [b"*", b"**", b"!", b"[", b"]", b"\\", b"?", b"/", b"../", b"[!", b"[a-", b"\n"]


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _model_folder(work: Path) -> Path:
    """A python-runtime model folder whose serving.yaml / contract.prototxt each input replaces."""
    folder = work / "model"
    if not folder.exists():
        shutil.copytree(EXAMPLES / "iris-sklearn", folder)
    return folder


def run_serving(data: bytes, work: Path) -> object:
    from hydro_ci.infer.check import read_model_folder

    folder = _model_folder(work)
    _write(folder, "serving.yaml", data)
    return read_model_folder(folder, build=True)


def run_prototxt(data: bytes, work: Path) -> object:
    from hydro_ci.contract import yamlfile
    from hydro_ci.contract.formats import from_prototxt

    return from_prototxt(yamlfile.decode(data, "contract.prototxt"), "contract.prototxt")


def run_json_contract(data: bytes, work: Path) -> object:
    from hydro_ci.contract import yamlfile
    from hydro_ci.version.contracts import contract_from_json_text

    return contract_from_json_text(yamlfile.decode(data, "OLD.json"), "OLD.json")


def run_hydroignore(data: bytes, work: Path) -> object:
    from hydro_ci.contract import payload

    folder = work / "folder"
    if not folder.exists():
        for rel in ("a.txt", "src/b.py", "src/deep/c.csv", "notes/keep.md", "weights/w.bin"):
            _write(folder, rel, b"x")
    _write(folder, ".hydroignore", data)
    return payload.shipped(folder)


def run_requirements(data: bytes, work: Path) -> object:
    from hydro_ci.render.install import PipInstall, host_install_refusal, parse_pip_install, reads_only

    text = data.decode("utf-8", "replace")
    payload_files: dict[str, str | None] = {"requirements.txt": text, "more.txt": "numpy\n",
                                            "w/x-1.0-py3-none-any.whl": None}
    spec = PipInstall(("requirements.txt",))
    parse_pip_install(text.splitlines()[0] if text else "")
    parse_pip_install("pip install " + text.replace("\n", " ")[:200])
    reads_only(spec, payload_files)
    return host_install_refusal(spec, payload_files)


def _infer(path: Path) -> object:
    from hydro_ci.infer import infer_folder

    return infer_folder(path)


def run_file(name: str) -> Callable[[bytes, Path], object]:
    def run(data: bytes, work: Path) -> object:
        return _infer(_write(work, name, data))

    return run


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()
                if not n.endswith("/") and z.getinfo(n).file_size < 200_000}


def run_keras_config(data: bytes, work: Path) -> object:
    return _infer(_write(work, "model.keras", _zip({"metadata.json": b"{}", "config.json": data})))


def run_keras_h5_config(data: bytes, work: Path) -> object:
    from hydro_ci.infer.keras import _json, _read_config

    path = work / "model.h5"
    return _read_config(path, _json(path, data))


def run_pt2_json(data: bytes, work: Path) -> object:
    archive = _zip({"archive/archive_format": b"pt2", "archive/models/model.json": data})
    return _infer(_write(work, "model.pt2", archive))


def run_spark(data: bytes, work: Path) -> object:
    folder = work / "spark"
    if not folder.exists():
        shutil.copytree(FIXTURES / "spark_pipeline", folder)
    # one of the pipeline's metadata files, chosen by the input's first byte
    files = sorted(folder.glob("**/metadata/part-00000"))
    chosen = files[data[0] % len(files)] if data else files[0]
    _write(folder, str(chosen.relative_to(folder)), data[1:])
    try:
        return _infer(folder)
    finally:
        for path, original in zip(files, SPARK_ORIGINALS, strict=True):
            path.write_bytes(original)


SPARK_ORIGINALS = [p.read_bytes()
                   for p in sorted((FIXTURES / "spark_pipeline").glob("**/metadata/part-00000"))]


def _keras_configs() -> list[bytes]:
    return [_members(p)["config.json"] for p in sorted(FIXTURES.glob("*/model.keras"))]


def _h5_configs() -> list[bytes]:
    try:
        import h5py
    except ImportError:
        return []
    out = []
    for path in sorted(FIXTURES.glob("*/model.h5")):
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
        out.append(raw.encode() if isinstance(raw, str) else bytes(raw))
    return out


def _h5_files() -> list[bytes]:
    try:
        import h5py  # noqa: F401 - the keras extra; without it the reader says so, nothing to fuzz
    except ImportError:
        return []
    return _files("*/model.h5")


def _pt2_models() -> list[bytes]:
    out = []
    for path in sorted(FIXTURES.glob("*/model.pt2")):
        out += [data for name, data in _members(path).items()
                if "/models/" in name and name.endswith(".json")]
    return out


def _contract_jsons() -> list[bytes]:
    from hydro_ci.contract.formats import to_json
    from hydro_ci.infer import folder_contract
    from hydro_ci.infer.check import load_model_folder

    out = []
    for folder in sorted(EXAMPLES.iterdir()):
        try:
            out.append(to_json(folder_contract(load_model_folder(folder))).encode())
        except HydroCIError:
            continue
    return out


def _prototxts() -> list[bytes]:
    from hydro_ci.contract.formats import from_json, to_prototxt

    found = [p.read_bytes() for p in sorted(EXAMPLES.glob("*/contract.prototxt"))]
    return found + [to_prototxt(from_json(b.decode()).primary).encode() for b in _contract_jsons()]


def targets() -> list[Target]:
    servings = [*_files("*/serving.yaml", EXAMPLES),
                b"kind: Model\nname: m\nbase: &b {type: int8, shape: scalar}\ncontract:\n  inputs:\n"
                b"    x:\n      <<: *b\n  outputs:\n    y: {shape: [-1, 3], type: float32, subfields: {}}\n"
                b"metadata: {a: b}\nhydro-ci:\n  env: {A: 3.10}\n  version: {}\n  diff: {}\n"
                b"payload: [src/, model.joblib]\n"]
    return [
        Target("serving.yaml", servings, run_serving, YAML_TOKENS, 256),
        Target("contract.prototxt", _prototxts(), run_prototxt, PROTOTXT_TOKENS),
        Target("json-contract", _contract_jsons(), run_json_contract, JSON_TOKENS),
        Target(".hydroignore", [b"*.csv\n!notes/keep.md\nsrc/deep\n**/*.bin\n"], run_hydroignore,
               IGNORE_TOKENS, 64),
        Target("requirements", [*_files("*/requirements.txt", EXAMPLES),
                                b"numpy>=1\n-r more.txt\nw/x-1.0-py3-none-any.whl\n--index-url https://x/simple\n"],
               run_requirements, REQ_TOKENS, 128),
        Target("savedmodel.pb", _files("tf_*/saved_model.pb"), run_file("saved_model.pb"), PROTO_TOKENS),
        Target("savedmodel.pbtxt", _files("tf_*/saved_model.pbtxt"), run_file("saved_model.pbtxt"),
               PROTOTXT_TOKENS),
        Target("keras-config", _keras_configs(), run_keras_config, JSON_TOKENS),
        Target("keras-archive", _files("*/model.keras"), run_file("model.keras"),
               [b"PK\x03\x04", b"PK\x01\x02"]),
        Target("keras-h5-config", _h5_configs(), run_keras_h5_config, JSON_TOKENS),
        # the raw HDF5 bytes: the C library reads them in a limited child (hydro_ci.limited_child)
        Target("keras-h5", _h5_files(), run_file("model.h5"), H5_TOKENS),
        Target("onnx", _files("*/model.onnx"), run_file("model.onnx"), PROTO_TOKENS),
        Target("torch-pt2-json", _pt2_models(), run_pt2_json, JSON_TOKENS),
        Target("torch-pt2-archive", _files("*/model.pt2"), run_file("model.pt2"), [b"PK\x03\x04"]),
        Target("sklearn-pickle", _files("sklearn_*/model.*"), run_file("model.joblib"), PICKLE_TOKENS),
        Target("spark-metadata", [bytes([i]) + s for i, s in enumerate(SPARK_ORIGINALS)], run_spark,
               JSON_TOKENS),
    ]


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Result:
    target: str
    inputs: int = 0
    crashes: dict[str, Path] = field(default_factory=dict)  # signature → saved input
    slow: int = 0
    seconds: float = 0.0


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "hydro_ci" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(exc).__name__} at {where}"


def fuzz(target: Target, count: int, work: Path, crashes: Path) -> Result:
    result = Result(target.name)
    seeds = [s for s in target.seeds if s] or [b""]
    mutated = st.builds(lambda i, s: mutate(seeds[i], random.Random(s), seeds, target.tokens),
                        st.integers(0, len(seeds) - 1), st.integers(0, 2**64 - 1))
    inputs = st.one_of(mutated, mutated, mutated, mutated, st.binary(max_size=target.max_random))
    scratch = work / target.name
    scratch.mkdir(parents=True, exist_ok=True)

    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def one(data: bytes) -> None:
        result.inputs += 1
        start = time.monotonic()
        try:
            target.run(data, scratch)
        except HydroCIError:
            pass  # what the CLI renders as one error line
        except Exception as exc:  # noqa: BLE001 - every other exception is the finding
            sig = _signature(exc)
            if sig not in result.crashes:
                path = crashes / f"{target.name}-{hashlib.sha256(data).hexdigest()[:12]}.bin"
                path.write_bytes(data)
                (path.with_suffix(".txt")).write_text("".join(traceback.format_exception(exc)))
                result.crashes[sig] = path
        if time.monotonic() - start > SLOW_SECONDS:  # kept to look at (a loaded machine is slow too)
            result.slow += 1
            (crashes / f"{target.name}-slow-{hashlib.sha256(data).hexdigest()[:12]}.bin").write_bytes(data)

    start = time.monotonic()
    while result.inputs < count:  # Hypothesis may stop a little short of max_examples
        before = result.inputs
        one()
        if result.inputs == before:
            break
    result.seconds = time.monotonic() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.security.fuzz",
                                     description=(__doc__ or "").split("\n\n")[0], allow_abbrev=False)
    budget = int(os.environ.get("HYDRO_CI_FUZZ_BUDGET", DEFAULT_BUDGET))
    parser.add_argument("--budget", type=int, default=budget,
                        help="total inputs, shared by the targets (env HYDRO_CI_FUZZ_BUDGET)")
    parser.add_argument("--target", action="append", default=[], help="only these targets (repeatable)")
    parser.add_argument("--crashes", type=Path, default=None, help="where crashing inputs are saved")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)  # re: a pattern like "[[" in .hydroignore
    chosen = [t for t in targets() if not args.target or t.name in args.target]
    if not chosen:
        parser.error(f"no such target; targets: {', '.join(t.name for t in targets())}")
    crashes = args.crashes or Path(tempfile.mkdtemp(prefix="hydro-ci-fuzz-crashes-"))
    crashes.mkdir(parents=True, exist_ok=True)
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None  # tmpfs: inputs are written as files
    per_target = max(1, args.budget // len(chosen))
    results = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hydro-ci-fuzz-", dir=base) as work:
        for target in chosen:
            res = fuzz(target, per_target, Path(work), crashes)
            results.append(res)
            status = f"{len(res.crashes)} crash(es)" if res.crashes else "0 crashes"
            print(f"{res.target:18} {res.inputs:>9} inputs {res.seconds:8.1f} s  {status}"
                  + (f", {res.slow} slower than {SLOW_SECONDS:.0f} s" if res.slow else ""), flush=True)
            for sig, path in res.crashes.items():
                print(f"    {sig}: {path}", flush=True)
    total = sum(r.inputs for r in results)
    crashed = sum(len(r.crashes) for r in results)
    print(f"total: {total} inputs over {len(results)} targets in {time.monotonic() - started:.0f} s, "
          f"{crashed} crash(es)" + (f" (inputs in {crashes})" if crashed else ""), flush=True)
    if not crashed and not args.crashes:
        shutil.rmtree(crashes, ignore_errors=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

