"""The one place the inference readers import generated protobuf code (our minimal TF/ONNX subsets)."""

from hydro_ci._proto import onnx_model_pb2 as onnx_pb
from hydro_ci._proto import tf_saved_model_pb2 as tf_pb

__all__ = ["onnx_pb", "tf_pb"]
