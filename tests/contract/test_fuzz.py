"""Mutated serving.yaml and contract.prototxt bytes: only our own error type ever escapes.

The loaders must turn any input into located problems (``ProblemsError``, a ``HydroCIError``) or a
clean result: never a foreign exception, a crash or a hang.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydro_ci.contract import formats, yamlfile
from hydro_ci.contract.reader import Declared, read_serving
from hydro_ci.diagnostics import Location
from hydro_ci.errors import HydroCIError
from hydro_ci.infer.check import check_model_folder, load_model_folder
from tests.contract.helpers import PROTOTXT, SERVING, make_folder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
YAML_SEEDS = [SERVING.encode(), (EXAMPLES / "face-detection" / "serving.yaml").read_bytes(),
              b"a: &a [*a]\n", b"x: &x {<<: *x}\n"]
PROTOTXT_SEEDS = [PROTOTXT.encode(), (EXAMPLES / "mobilenet" / "contract.prototxt").read_bytes()]
# Bytes that matter to the grammars, and some that must never crash a decoder.
INTERESTING = [b":", b"{", b"}", b"[", b"]", b"-", b"&a ", b"*a", b"<<: ", b"!!",
               b"!!python/object:os.system ",
               b"\n", b"  ", b'"', b"'", b"#", b"\\", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\t", b"---\n",
               b"-1", b"1e999", b"99999999999999999999", b"DT_", b"dims: ", b"shape: ", b"subfields: ", b"<",
               b">", b"\\x", b"\\u12", b"scalar", b"null", b"~", b"? ", b"|", b">-"]

edit = st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.floats(0, 1),
                 st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=3))


def mutate(seed: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    data = bytearray(seed)
    for op, where, chunk in edits:
        i = int(where * len(data))
        if op == "insert":
            data[i:i] = chunk
        elif op == "delete":
            del data[i : i + len(chunk)]
        else:
            data[i : i + len(chunk)] = chunk
    return bytes(data)


fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(st.sampled_from(YAML_SEEDS), st.lists(edit, min_size=1, max_size=6))
def test_serving_yaml_in_memory(seed: bytes, edits: list[tuple[str, float, bytes]]) -> None:
    text = mutate(seed, edits).decode("utf-8", "replace")
    try:
        root = yamlfile.compose(text, "serving.yaml")
    except HydroCIError:
        return
    declared = Declared(Path("."), ".", "demo", Location("."))
    for p in read_serving(root, declared, "serving.yaml"):
        assert p.location.path == "serving.yaml" and p.rule
    with contextlib.suppress(HydroCIError):  # any other exception fails the test
        formats.from_yaml(text)


@fuzz
@given(st.sampled_from(PROTOTXT_SEEDS), st.lists(edit, min_size=1, max_size=6))
def test_prototxt_in_memory(seed: bytes, edits: list[tuple[str, float, bytes]]) -> None:
    text = mutate(seed, edits).decode("utf-8", "replace")
    with contextlib.suppress(HydroCIError):
        formats.from_prototxt(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(YAML_SEEDS), st.lists(edit, min_size=1, max_size=4),
       st.sampled_from(PROTOTXT_SEEDS), st.lists(edit, max_size=4))
def test_whole_folder_on_disk(yaml_seed: bytes, yaml_edits: list[tuple[str, float, bytes]],
                              proto_seed: bytes, proto_edits: list[tuple[str, float, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp), mutate(yaml_seed, yaml_edits))
        (folder / "contract.prototxt").write_bytes(mutate(proto_seed, proto_edits))
        problems = check_model_folder(folder)
        assert all(p.rule and p.message and "\n" not in p.render() for p in problems)
        try:
            load_model_folder(folder)
        except HydroCIError:
            assert problems
        else:
            assert not [p for p in problems if p.is_error]
