"""Our readers against the frameworks' own APIs, live: needs tensorflow, onnx, torch, scikit-learn.

Expected values come from each framework (see tests/fixtures/make_models.py for the helpers that
ask it), never from our readers.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.errors import ModelFileError
from hydro_ci.infer import infer_folder
from hydro_ci.infer.onnx import read_onnx
from tests.infer.helpers import as_plain, expected_plain

pytestmark = pytest.mark.frameworks
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _onnx_backend_models() -> list[Path]:
    spec = importlib.util.find_spec("onnx")  # locate the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return []
    # onnx's own backend test models (node/, simple/, pytorch-converted/, light/, … depending on
    # the onnx version: 1.23's wheel ships ~150 of them, older ones the per-operator node/ tree too)
    root = Path(next(iter(spec.submodule_search_locations))) / "backend" / "test" / "data"
    return sorted(root.rglob("*.onnx"))


BACKEND_MODELS = _onnx_backend_models()


def test_onnx_backend_models_are_shipped() -> None:
    pytest.importorskip("onnx")
    assert len(BACKEND_MODELS) > 100


# Without onnx the list is empty and pytest passes a NOTSET placeholder (then skips): name it plainly.
@pytest.mark.parametrize("path", BACKEND_MODELS,
                         ids=lambda p: f"{p.parent.name}/{p.stem}" if isinstance(p, Path) else "none")
def test_onnx_backend_model(path: Path) -> None:
    from tests.fixtures.make_models import onnx_expected

    want = onnx_expected(path)
    if "refused" in want:
        with pytest.raises(ModelFileError) as info:
            read_onnx(path)
        assert any(repr(name) in str(info.value) for name in want["refused"]), str(info.value)
        return
    [sig] = read_onnx(path).signatures
    assert as_plain(sig) == expected_plain(want["signatures"][0])


def _fields(message: Any) -> dict[str, Any]:
    return {f.name: f for f in message.DESCRIPTOR.fields}


def _same_numbers(ours: Any, theirs: Any, seen: set[str]) -> None:
    """Every field of our minimal message exists in the real one with the same number and type."""
    if ours.full_name in seen:
        return
    seen.add(ours.full_name)
    real = {f.name: f for f in theirs.fields}
    for f in ours.fields:
        assert f.name in real, f"{ours.full_name}.{f.name} is not in {theirs.full_name}"
        r = real[f.name]
        assert (f.number, f.type) == (r.number, r.type), f"{ours.full_name}.{f.name}"
        assert f.is_repeated == r.is_repeated, f"{ours.full_name}.{f.name}"
        if f.message_type is not None:
            _same_numbers(f.message_type, r.message_type, seen)
        if f.enum_type is not None:
            real_values = {v.name: v.number for v in r.enum_type.values}
            for v in f.enum_type.values:
                assert real_values.get(v.name) == v.number, f"{f.enum_type.full_name}.{v.name}"


def test_minimal_protos_match_tensorflow_and_onnx() -> None:
    onnx_pb2 = pytest.importorskip("onnx.onnx_ml_pb2")
    saved_model_pb2 = pytest.importorskip("tensorflow.core.protobuf.saved_model_pb2")
    from hydro_ci.infer._pb import onnx_pb, tf_pb

    _same_numbers(tf_pb.SavedModel.DESCRIPTOR, saved_model_pb2.SavedModel.DESCRIPTOR, set())
    _same_numbers(onnx_pb.ModelProto.DESCRIPTOR, onnx_pb2.ModelProto.DESCRIPTOR, set())


def test_sklearn_fitted_here(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_wine
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from tests.fixtures.make_models import sklearn_expected

    X, y = load_wine(return_X_y=True)
    labels = [f"cultivar-{v}" for v in y]
    model = make_pipeline(MinMaxScaler(), GradientBoostingClassifier(n_estimators=2)).fit(X, labels)
    joblib.dump(model, tmp_path / "model.joblib", compress=("lzma", 1))
    [want] = sklearn_expected(model, X)
    assert as_plain(infer_folder(tmp_path).contract.primary) == expected_plain(want)


def test_torch_export_fitted_here(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tests.fixtures.make_models import torch_export_expected

    class Model(torch.nn.Module):
        def forward(self, a: Any, b: Any) -> Any:
            return a.float().sum(dim=-1), (a * b).to(torch.int32), b.bool()

    batch = torch.export.Dim("batch")
    program = torch.export.export(
        Model(), (torch.ones(3, 2, dtype=torch.int16), torch.ones(3, 2, dtype=torch.int16)),
        dynamic_shapes={"a": {0: batch}, "b": {0: batch}},
    )
    torch.export.save(program, str(tmp_path / "model.pt2"))
    [want] = torch_export_expected(tmp_path / "model.pt2")
    assert as_plain(infer_folder(tmp_path).contract.primary) == expected_plain(want)


def test_tf_module_saved_here(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    from tests.fixtures.make_models import tf_expected_signatures

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int8, name="grid"),
                                      tf.TensorSpec(None, tf.string, name="anything")])
        def classify(self, grid: Any, anything: Any) -> dict[str, Any]:
            return {"total": tf.reduce_sum(tf.cast(grid, tf.int64)), "echo": anything}

    module = Module()
    tf.saved_model.save(module, str(tmp_path), signatures={"classify": module.classify})
    want = {s["name"]: expected_plain(s) for s in tf_expected_signatures(tmp_path)}
    got = {s.name: as_plain(s) for s in infer_folder(tmp_path).contract.signatures}
    assert got == want


def _onnx_type_cases() -> list[tuple[str, Any]]:
    """Graph values of every kind ONNX has, built with onnx's own helpers (none without onnx)."""
    if importlib.util.find_spec("onnx") is None:
        return []
    from onnx import TensorProto, helper

    cases: list[tuple[str, Any]] = []
    for name, number in sorted(TensorProto.DataType.items(), key=lambda kv: kv[1]):
        if number:  # every element type (UNDEFINED aside), with a symbolic, a fixed and a missing dim
            value = helper.make_tensor_value_info(f"t_{name.lower()}", number, ["batch", 3, None])
            cases.append((f"tensor-{name}", value))
    float_t = helper.make_tensor_type_proto(TensorProto.FLOAT, [2])
    scalar_t = helper.make_tensor_type_proto(TensorProto.FLOAT, [])
    sparse_t = helper.make_sparse_tensor_type_proto(TensorProto.FLOAT, [4, 4])
    cases += [
        ("no-shape", helper.make_tensor_value_info("no_shape", TensorProto.INT64, None)),
        ("scalar", helper.make_tensor_value_info("scalar", TensorProto.DOUBLE, [])),
        ("sequence", helper.make_value_info("seq", helper.make_sequence_type_proto(float_t))),
        ("map", helper.make_value_info("m", helper.make_map_type_proto(TensorProto.STRING, float_t))),
        ("sequence-of-maps", helper.make_value_info("zipmap", helper.make_sequence_type_proto(
            helper.make_map_type_proto(TensorProto.INT64, scalar_t)))),
        ("optional", helper.make_value_info("opt", helper.make_optional_type_proto(float_t))),
        ("sparse", helper.make_value_info("sp", sparse_t)),
    ]
    return cases


ONNX_VALUE_KINDS = _onnx_type_cases()


@pytest.mark.parametrize(("kind", "value"), ONNX_VALUE_KINDS, ids=[k for k, _ in ONNX_VALUE_KINDS])
def test_onnx_value_kinds(tmp_path: Path, kind: str, value: Any) -> None:
    """Each value kind as an input and an output of a real ONNX file: represented or refused by name."""
    from onnx import helper

    from tests.fixtures.make_models import onnx_expected
    graph = helper.make_graph([helper.make_node("Identity", [value.name], ["out"])], "g", [value],
                              [helper.make_value_info("out", value.type)])
    path = tmp_path / "model.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    want = onnx_expected(path)
    if "refused" in want:
        with pytest.raises(ModelFileError, match=value.name):
            read_onnx(path)
    else:
        [sig] = read_onnx(path).signatures
        assert as_plain(sig) == expected_plain(want["signatures"][0])


def test_tf_dtype_without_a_contract_type_is_refused_by_name(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.bfloat16, name="activations")])
        def serve(self, activations: Any) -> dict[str, Any]:
            return {"mean": tf.reduce_mean(tf.cast(activations, tf.float32))}

    module = Module()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.serve})
    real = tf.saved_model.load(str(tmp_path)).signatures["serving_default"]
    assert real.structured_input_signature[1]["activations"].dtype == tf.bfloat16
    with pytest.raises(ModelFileError, match=r"tensor 'activations' has dtype DT_BFLOAT16"):
        infer_folder(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["MobileNetV3Small", "MobileNetV2-avg-pool", "MobileNet-no-top"])
def test_keras_applications_saved_as_keras(tmp_path: Path, arch: str) -> None:
    """keras.applications architectures (random weights) in the .keras format, against Keras's loader."""
    keras = pytest.importorskip("keras")
    from tests.fixtures.make_models import keras_expected

    apps = keras.applications
    model = {
        "MobileNetV3Small": lambda: apps.MobileNetV3Small(
            input_shape=(64, 64, 3), weights=None, classes=7, minimalistic=True),
        "MobileNetV2-avg-pool": lambda: apps.MobileNetV2(
            input_shape=(64, 64, 3), alpha=0.35, weights=None, include_top=False, pooling="avg"),
        "MobileNet-no-top": lambda: apps.MobileNet(
            input_shape=(70, 70, 3), alpha=0.25, weights=None, include_top=False),
    }[arch]()
    path = tmp_path / "model.keras"
    model.save(str(path))
    [want] = keras_expected(path)
    result = infer_folder(tmp_path)
    assert as_plain(result.contract.primary) == expected_plain(want)
    assert result.notes == ()
