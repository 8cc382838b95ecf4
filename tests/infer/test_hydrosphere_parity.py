"""Inference where Hydrosphere's manager is the ground truth (its fetchers and FetcherSpecs), and the
points where hydro-ci says more than it did (docs/infer.md, "Hydrosphere's manager")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hydro_ci.contract.model import DType
from hydro_ci.errors import ModelFileError
from hydro_ci.infer import hydrosphere_name_note, infer_folder
from tests.infer.helpers import FIXTURES
from tests.infer.test_cli import infer


def test_keras_2_2_sequential_list_config_reads_as_the_manager_test() -> None:
    # FetcherSpecs "should parse sequential model from .h5": flatten_1 [-1,28,28] -> dense_3 [-1,10]
    pytest.importorskip("h5py")
    sig = infer_folder(FIXTURES / "keras22_sequential_h5").contract.primary
    assert [(f.name, f.dtype, f.shape) for f in sig.inputs] == [("flatten_1", DType.float32, (-1, 28, 28))]
    assert [(f.name, f.dtype, f.shape) for f in sig.outputs] == [("dense_3", DType.float32, (-1, 10))]


def test_time_distributed_output_shapes_are_inferred() -> None:
    for name in ("keras_time_distributed_keras", "keras_time_distributed_sequential_keras"):
        result = infer_folder(FIXTURES / name)
        assert all(f.shape is not None for f in result.contract.primary.outputs), result
        assert not [n for n in result.notes if "not inferred" in n]


def test_spark_types_follow_the_manager() -> None:
    kmeans = infer_folder(FIXTURES / "spark_kmeans").contract.primary
    assert [(f.name, f.dtype, f.shape) for f in kmeans.outputs] == [("cluster", DType.int32, ())]
    forest = infer_folder(FIXTURES / "spark_forest_training_label").contract.primary
    # the label's source column is read in training only; the label is not served either
    assert [f.name for f in forest.inputs] == ["charges", "tenure"]
    assert {f.name: f.shape for f in forest.outputs} == {
        "predictedLabel": (), "probability": (2,), "rawPrediction": (2,)}
    vectors = infer_folder(FIXTURES / "spark_feature_vectors").contract.primary
    out = {f.name: (f.dtype, f.shape) for f in vectors.outputs}
    assert out["embedding"] == (DType.float64, (3,))  # Word2Vec vectorSize
    assert out["pca"] == (DType.float64, (2,))  # PCA k
    assert out["bucket_vec"] == out["spectrum"] == (DType.float64, (-1,))  # OneHotEncoder, DCT: vectors


def test_python2_pickle_is_named_as_such() -> None:
    with pytest.raises(ModelFileError, match=r"a Python 2 pickle \(it holds Python 2 strings\)"):
        infer_folder(FIXTURES / "sklearn_python2_pickle")


def test_onnx_value_kinds_are_in_the_json_output() -> None:
    folder = FIXTURES / "onnx_value_kinds"
    done = infer(folder)
    assert done.returncode == 0, done.stderr
    want = json.loads((folder / "kinds.json").read_text())
    sig = json.loads(done.stdout)["signatures"][0]
    got = {f["name"]: f.get("kind", "tensor") for f in [*sig["inputs"], *sig["outputs"]]}
    assert got == want
    assert {"sequence of tensor", "optional of tensor", "map", "sequence of map"} <= set(got.values())


def test_manager_signature_name_is_noted() -> None:
    done = infer(FIXTURES / "onnx_skl_classifier")
    assert done.returncode == 0
    assert "named the signature it read from a onnx model 'Predict'" in done.stderr
    assert "signature-name: Predict" in done.stderr
    result = infer_folder(FIXTURES / "spark_kmeans")
    assert result.contract.primary.name == "predict"
    assert "'default_spark'" in (hydrosphere_name_note(result) or "")
    assert hydrosphere_name_note(infer_folder(FIXTURES / "sklearn_ridge_pickle")) is None


def _weights_only(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.create_group("model_weights")


def test_keras_h5_choice_top_level_first_and_weights_only_passed_over(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    model = FIXTURES / "keras22_sequential_h5" / "keras_fashion_mnist.h5"
    (tmp_path / "a_nested").mkdir()
    shutil.copy(FIXTURES / "keras2_sequential_h5" / "model.h5", tmp_path / "a_nested" / "a.h5")
    shutil.copy(model, tmp_path / "z.h5")
    result = infer_folder(tmp_path)
    assert result.source == tmp_path / "z.h5"  # top level before nested, whatever the names
    assert "also found and ignored: a_nested/a.h5" in " ".join(result.notes)
    _weights_only(tmp_path / "a_weights.h5")
    result = infer_folder(tmp_path)
    assert result.source == tmp_path / "z.h5"
    assert any("no model in a_weights.h5 (weights only?)" in n for n in result.notes)
    only = tmp_path / "only"
    only.mkdir()
    _weights_only(only / "weights.h5")
    with pytest.raises(ModelFileError, match="without a 'model_config'"):
        infer_folder(only)
